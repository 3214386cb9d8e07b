"""The emulator's Web API, driven by the real slack_sdk WebClient (and raw httpx where the SDK can't)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RateLimitErrorRetryHandler

from bot.sandbox.slack_emulator import SlackEmulator

CH = "C0INCIDENT"


@pytest.fixture(scope="module")
def running() -> Iterator[SlackEmulator]:
    with SlackEmulator(signing_secret="test-secret") as emulator:
        yield emulator


@pytest.fixture
def emu(running: SlackEmulator) -> SlackEmulator:
    running.reset()
    return running


@pytest.fixture
def client(emu: SlackEmulator) -> WebClient:
    return WebClient(token=emu.bot_token, base_url=emu.api_url, timeout=10)


def _error(call: Any) -> str:
    with pytest.raises(SlackApiError) as info:
        call()
    return str(info.value.response["error"])


def test_post_update_and_thread_fields(emu: SlackEmulator, client: WebClient) -> None:
    root = client.chat_postMessage(channel=CH, text="INC-1 schema drift")
    assert root["message"]["user"] == "U0BOT" and root["message"]["bot_id"] == "B0BOT"
    r1 = client.chat_postMessage(channel=CH, text="status", thread_ts=root["ts"])
    r2 = client.chat_postMessage(channel=CH, text="diff", thread_ts=r1["ts"])  # reply to a reply
    assert root["ts"] < r1["ts"] < r2["ts"] and len(r2["ts"].split(".")[1]) == 6
    thread = client.conversations_replies(channel=CH, ts=root["ts"])["messages"]
    assert [m["text"] for m in thread] == ["INC-1 schema drift", "status", "diff"]
    parent = thread[0]
    assert (parent["reply_count"], parent["reply_users"], parent["latest_reply"]) == (2, ["U0BOT"], r2["ts"])
    assert all(m["thread_ts"] == root["ts"] and m["parent_user_id"] == "U0BOT" for m in thread[1:])
    client.chat_update(channel=CH, ts=root["ts"], text="INC-1 resolved")
    assert emu.message(CH, root["ts"])["text"] == "INC-1 resolved"  # type: ignore[index]
    assert [m["ts"] for m in emu.messages(CH)] == [root["ts"]]
    assert [m["text"] for m in emu.replies(CH, root["ts"])] == ["status", "diff"]


def test_metadata_round_trip(emu: SlackEmulator, client: WebClient) -> None:
    meta = {"event_type": "incident_root", "event_payload": {"incident": "INC-7"}}
    ts = client.chat_postMessage(channel=CH, text="root", metadata=meta)["ts"]
    plain = client.conversations_history(channel=CH)["messages"][0]
    assert "metadata" not in plain  # as Slack: only with include_all_metadata
    full = client.conversations_history(channel=CH, include_all_metadata=True)["messages"][0]
    assert full["metadata"] == meta
    client.chat_update(channel=CH, ts=ts, text="root v2", metadata={"event_type": "x", "event_payload": {}})
    assert emu.message(CH, ts)["metadata"]["event_type"] == "x"  # type: ignore[index]


def test_json_form_and_query_arguments(emu: SlackEmulator) -> None:
    url, auth = emu.api_url + "chat.postMessage", {"Authorization": f"Bearer {emu.bot_token}"}
    blocks = '[{"type":"section","text":{"type":"mrkdwn","text":"form"}}]'
    as_json = httpx.post(url, json={"channel": CH, "text": "json"}, headers=auth).json()
    as_form = httpx.post(url, data={"channel": CH, "blocks": blocks, "token": emu.bot_token}).json()
    as_query = httpx.get(url, params={"channel": CH, "text": "query"}, headers=auth).json()
    assert as_json["ok"] and as_form["ok"] and as_query["ok"]
    assert [m["text"] for m in emu.messages(CH)] == ["json", "", "query"]
    assert emu.messages(CH)[1]["blocks"][0]["text"]["text"] == "form"
    assert emu.calls("chat.postMessage")[1].args["token"] == emu.bot_token


def test_auth_errors(emu: SlackEmulator) -> None:
    wrong = WebClient(token="xoxb-wrong", base_url=emu.api_url)
    assert _error(lambda: wrong.chat_postMessage(channel=CH, text="x")) == "invalid_auth"
    assert httpx.post(emu.api_url + "auth.test").json() == {"ok": False, "error": "not_authed"}
    assert emu.messages(CH) == []


def test_auth_test_reports_bot_and_scopes(emu: SlackEmulator, client: WebClient) -> None:
    resp = client.auth_test()
    assert (resp["user_id"], resp["bot_id"], resp["team_id"]) == ("U0BOT", "B0BOT", "T0SANDBOX")
    assert "chat:write" in resp.headers["x-oauth-scopes"]


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"channel": "C0NOPE", "text": "x"}, "channel_not_found"),
        ({"channel": CH}, "no_text"),
        ({"channel": CH, "text": "x" * 40_001}, "msg_too_long"),
        ({"channel": CH, "text": "x", "thread_ts": "1.000001"}, "thread_not_found"),
        ({"channel": CH, "blocks": [{"type": "divider"}] * 51}, "invalid_blocks"),
        ({"channel": CH, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "a" * 3001}}]},
         "invalid_blocks"),
    ],
)
def test_post_message_errors(emu: SlackEmulator, client: WebClient, kwargs: dict[str, Any], error: str) -> None:
    assert _error(lambda: client.chat_postMessage(**kwargs)) == error
    assert emu.messages(CH) == []


@pytest.mark.parametrize(
    "button",
    [{"text": {"type": "plain_text", "text": "x" * 76}, "action_id": "a"},
     {"text": {"type": "plain_text", "text": "ok"}, "action_id": "a" * 256},
     {"text": {"type": "plain_text", "text": "ok"}, "action_id": "a", "value": "v" * 2001}],
)
def test_button_limits(client: WebClient, button: dict[str, Any]) -> None:
    blocks = [{"type": "actions", "elements": [{"type": "button", **button}]}]
    assert _error(lambda: client.chat_postMessage(channel=CH, text="x", blocks=blocks)) == "invalid_blocks"


def test_lookup_errors(emu: SlackEmulator, client: WebClient) -> None:
    assert _error(lambda: client.chat_update(channel=CH, ts="1.000001", text="x")) == "message_not_found"
    assert _error(lambda: client.conversations_replies(channel=CH, ts="1.000001")) == "thread_not_found"
    assert _error(lambda: client.users_info(user="U0NOBODY")) == "user_not_found"
    assert _error(lambda: client.api_call("chat.explode")) == "unknown_method"
    bad_files = {"files": "not json"}
    assert _error(lambda: client.api_call("files.completeUploadExternal", params=bad_files)) == "invalid_arguments"


def _all_pages(client: WebClient, method: str, **kwargs: Any) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        resp = client.api_call(method, http_verb="GET", params={**kwargs, "cursor": cursor} if cursor else kwargs)
        pages.append([m["text"] for m in resp["messages"]])
        cursor = resp["response_metadata"]["next_cursor"]
        assert resp["has_more"] == bool(cursor)
        if not cursor:
            return pages


def test_cursor_paging_of_replies_and_history(emu: SlackEmulator, client: WebClient) -> None:
    root = client.chat_postMessage(channel=CH, text="root")["ts"]
    for i in range(4):
        client.chat_postMessage(channel=CH, text=f"r{i}", thread_ts=root)
        client.chat_postMessage(channel=CH, text=f"m{i}")
    replies = _all_pages(client, "conversations.replies", channel=CH, ts=root, limit=2)
    assert replies == [["root", "r0"], ["r1", "r2"], ["r3"]]
    history = _all_pages(client, "conversations.history", channel=CH, limit=2)
    assert history == [["m3", "m2"], ["m1", "m0"], ["root"]]  # newest first, replies excluded
    emu.set_page_limits(default=3, maximum=3)  # Slack's 2025 Tier-1 cap, scaled down
    assert len(client.conversations_history(channel=CH, limit=100)["messages"]) == 3


def test_history_cursor_survives_new_posts(client: WebClient) -> None:
    for i in range(3):
        client.chat_postMessage(channel=CH, text=f"m{i}")
    first = client.conversations_history(channel=CH, limit=2)
    client.chat_postMessage(channel=CH, text="late")
    rest = client.conversations_history(channel=CH, limit=2, cursor=first["response_metadata"]["next_cursor"])
    assert [m["text"] for m in first["messages"] + rest["messages"]] == ["m2", "m1", "m0"]


def test_oldest_latest_inclusive(client: WebClient) -> None:
    ts = [client.chat_postMessage(channel=CH, text=f"m{i}")["ts"] for i in range(4)]
    window = client.conversations_history(channel=CH, oldest=ts[0], latest=ts[3])["messages"]
    assert [m["text"] for m in window] == ["m2", "m1"]
    inclusive = client.conversations_history(channel=CH, oldest=ts[0], latest=ts[3], inclusive=True)
    assert [m["text"] for m in inclusive["messages"]] == ["m3", "m2", "m1", "m0"]


def test_files_upload_v2_end_to_end(emu: SlackEmulator, client: WebClient) -> None:
    root = client.chat_postMessage(channel=CH, text="root")["ts"]
    resp = client.files_upload_v2(channel=CH, thread_ts=root, content="connect logs\n", filename="connect.txt",
                                  title="Connect logs", initial_comment="logs attached")
    [stored] = emu.files()
    assert stored["content"] == b"connect logs\n" and stored["title"] == "Connect logs"
    assert resp["file"]["id"] == stored["id"] and stored["id"].startswith("F")
    [reply] = emu.replies(CH, root)
    assert reply["text"] == "logs attached" and reply["files"][0]["id"] == stored["id"]
    assert [c.method for c in emu.calls()][-3:] == ["files.getUploadURLExternal", "upload",
                                                     "files.completeUploadExternal"]


def test_rate_limit_is_retried_by_sdk_handler(emu: SlackEmulator) -> None:
    client = WebClient(token=emu.bot_token, base_url=emu.api_url,
                       retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    emu.inject("chat.postMessage", status=429, retry_after=0)
    assert client.chat_postMessage(channel=CH, text="after retry")["ok"]
    assert len(emu.calls("chat.postMessage")) == 2 and len(emu.messages(CH)) == 1


def test_injected_429_and_500_as_slack_answers(emu: SlackEmulator, client: WebClient) -> None:
    emu.inject("chat.postMessage", retry_after=7)
    raw = httpx.post(emu.api_url + "chat.postMessage", json={"channel": CH, "text": "x"},
                     headers={"Authorization": f"Bearer {emu.bot_token}"})
    assert (raw.status_code, raw.headers["Retry-After"], raw.json()["error"]) == (429, "7", "ratelimited")
    emu.inject("chat.postMessage", status=500, error="internal_error", times=1)
    with pytest.raises(SlackApiError) as info:
        client.chat_postMessage(channel=CH, text="x")
    assert info.value.response.status_code == 500
    assert client.chat_postMessage(channel=CH, text="ok now")["ok"]  # the fault was used up


def test_latency_injection_trips_client_timeouts(emu: SlackEmulator) -> None:
    emu.set_latency(0.5, "auth.test")
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(emu.api_url + "auth.test", headers={"Authorization": f"Bearer {emu.bot_token}"}, timeout=0.1)


def test_users_usergroups_reactions_permalinks(emu: SlackEmulator, client: WebClient) -> None:
    emu.add_user("U0CAROL", "carol", "Carol Le")
    emu.add_usergroup("S0ONCALL", "oncall", ["U0ALICE", "U0CAROL"])
    assert client.usergroups_users_list(usergroup="S0ONCALL")["users"] == ["U0ALICE", "U0CAROL"]
    user = client.users_info(user="U0CAROL")["user"]
    assert (user["name"], user["profile"]["real_name"], user["is_bot"]) == ("carol", "Carol Le", False)
    root = client.chat_postMessage(channel=CH, text="root")["ts"]
    reply = client.chat_postMessage(channel=CH, text="reply", thread_ts=root)["ts"]
    link = client.chat_getPermalink(channel=CH, message_ts=reply)["permalink"]
    assert link.endswith(f"/archives/{CH}/p{reply.replace('.', '')}?thread_ts={root}&cid={CH}")
    client.reactions_add(channel=CH, timestamp=root, name="eyes")
    assert _error(lambda: client.reactions_add(channel=CH, timestamp=root, name="eyes")) == "already_reacted"
    assert emu.message(CH, root)["reactions"] == [{"name": "eyes", "users": ["U0BOT"], "count": 1}]  # type: ignore[index]
    client.chat_postEphemeral(channel=CH, user="U0ALICE", text="only you")
    assert [e["text"] for e in emu.ephemerals("U0ALICE")] == ["only you"] and emu.ephemerals("U0BOB") == []


def test_render_thread(emu: SlackEmulator, client: WebClient) -> None:
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": "INC-3 schema drift"}},
              {"type": "actions", "elements": [
                  {"type": "button", "text": {"type": "plain_text", "text": "Approve"}, "action_id": "ok"},
                  {"type": "button", "text": {"type": "plain_text", "text": "Reject"}, "action_id": "no"}]}]
    root = client.chat_postMessage(channel=CH, text="fallback", blocks=blocks)["ts"]
    client.chat_postMessage(channel=CH, text="connector FAILED", thread_ts=root)
    text = emu.render_thread(CH, root)
    assert "INC-3 schema drift" in text and "[Approve] [Reject]" in text and "fallback" not in text
    assert "  | " in text.splitlines()[-1] and "connector FAILED" in text and "dataflow-bot (bot)" in text


def test_wait_for_returns_value_or_fails_clearly(emu: SlackEmulator) -> None:
    assert emu.wait_for(lambda: [1]) == [1]
    with pytest.raises(AssertionError, match="root message"):
        emu.wait_for(lambda: emu.messages(CH), timeout=0.05, what="root message")


def test_an_archived_channel_keeps_its_history_and_takes_no_posts_or_edits(emu: SlackEmulator,
                                                                           client: WebClient) -> None:
    ts = client.chat_postMessage(channel=CH, text="before")["ts"]
    assert client.conversations_archive(channel=CH)["ok"]
    for call in (lambda: client.chat_postMessage(channel=CH, text="after"),
                 lambda: client.chat_postMessage(channel=CH, thread_ts=ts, text="reply"),
                 lambda: client.chat_update(channel=CH, ts=ts, text="edited"),
                 lambda: client.conversations_archive(channel=CH)):
        assert _error(call) in ("is_archived", "already_archived")
    assert [m["text"] for m in emu.messages(CH)] == ["before"]
    assert client.conversations_info(channel=CH)["channel"]["is_archived"] is True
    client.conversations_unarchive(channel=CH)
    assert client.chat_postMessage(channel=CH, text="after")["ok"]
