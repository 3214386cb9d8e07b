"""ThreadPoster.upload_once with an image: the bytes arrive as they are, the alt text is redacted (by the
client's central redaction: it travels in files.getUploadURLExternal), and a second call uploads nothing. Real Redis and the Slack emulator over HTTP."""

from __future__ import annotations

from collections.abc import Callable

from bot.deps import Deps
from bot.incidents.poster import ThreadPoster
from bot.sandbox.slack_emulator import SlackEmulator
from tests.harness import CHANNEL
from tests.incidents.test_incident_day import DRIFT, run_next, unpaced
from tests.incidents.test_worker import enqueue, worker_deps
from tests.postmortem import conftest as shared

slack, make_deps = shared.slack, shared.make_deps
__all__ = ["make_deps", "slack", "unpaced", "worker_deps"]    # the fixtures
IMAGE = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def test_an_image_is_uploaded_once_with_its_bytes_and_redacted_alt_text(
        unpaced: Callable[..., Deps], slack: SlackEmulator) -> None:
    secret = "graph-alt-secret-7f3a9c41"
    deps = unpaced(alert_webhook_token=secret)    # a secret the redactor knows
    enqueue(deps, DRIFT)
    run_next(deps)
    inc = deps.store.incidents(CHANNEL)[0]
    for _ in range(2):
        ThreadPoster(deps).upload_once(inc, "enrich:graph:image", "INC-1-graph.png", IMAGE,
                                       alt_text=f"Failed tasks of connector-{secret}: last 1")
    (uploaded,) = [f for f in slack.files() if f["name"] == "INC-1-graph.png"]
    assert uploaded["content"] == IMAGE
    (call,) = slack.calls("files.getUploadURLExternal")
    alt = str(call.args.get("alt_txt"))
    assert alt.startswith("Failed tasks of connector-") and secret not in alt
    names = [f["name"] for m in slack.replies(CHANNEL, inc.root_ts or "") for f in m.get("files") or []]
    assert names == ["INC-1-graph.png"]
