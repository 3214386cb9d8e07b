"""HTTP routes of the fake Docker Engine: ping, version, container list/inspect and logs."""

from __future__ import annotations

import json
import struct
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

from flask import Flask, Response, abort, request
from werkzeug.exceptions import HTTPException

if TYPE_CHECKING:
    from bot.sandbox.docker_sim import DockerEngineSimulator, LogEntry, SimContainer

API_VERSION = "1.45"
MIN_API_VERSION = "1.24"
_STREAM_IDS = {"stdout": 1, "stderr": 2}
_FILTERS = ("label", "name", "id", "status")


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def _fail(status: int, message: str) -> NoReturn:
    abort(_json({"message": message}, status))


def register(app: Flask, sim: DockerEngineSimulator) -> None:

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        return _json({"message": "page not found" if exc.code == 404 else exc.description}, exc.code or 500)

    @app.before_request
    def _before() -> Response | None:
        sim.requests.append((request.method, request.path))
        _check_version(request.environ.get("docker.api_version"))
        return sim.faults().respond(request.path)

    @app.route("/_ping", methods=["GET", "HEAD"])
    def ping() -> Response:
        headers = {"Api-Version": API_VERSION, "Ostype": "linux", "Docker-Experimental": "false",
                   "Cache-Control": "no-cache, no-store, must-revalidate"}
        return Response("OK", content_type="text/plain; charset=utf-8", headers=headers)

    @app.get("/version")
    def version() -> Response:
        return _json(_version_body())

    @app.get("/containers/json")
    def list_containers() -> Response:
        filters = _parse_filters(request.args.get("filters", ""))
        show_all = _flag(request.args.get("all"))
        chosen = [c for c in sim.containers() if (show_all or c.state == "running") and _matches(c, filters)]
        return _json([_summary(c) for c in chosen])

    @app.get("/containers/<ref>/json")
    def inspect(ref: str) -> Response:
        return _json(_inspect(_container(sim, ref)))

    @app.get("/containers/<ref>/logs")
    def logs(ref: str) -> Response:
        container = _container(sim, ref)
        streams = {s for s in ("stdout", "stderr") if _flag(request.args.get(s))}
        if not streams:
            _fail(400, "Bad parameters: you must choose at least one stream")
        entries = _select(container.logs, request.args)
        stamps = _flag(request.args.get("timestamps"))
        chosen = [e for e in entries if e.stream in streams]
        if container.tty:
            body = b"".join(_line(e, stamps) for e in chosen)
            return Response(body, content_type="application/vnd.docker.raw-stream")
        return Response(b"".join(_frame(e, stamps) for e in chosen),
                        content_type="application/vnd.docker.multiplexed-stream")


def _check_version(version: str | None) -> None:
    if version is None:
        return
    asked = tuple(int(p) for p in version.split(".") if p.isdigit())
    if asked > _as_tuple(API_VERSION):
        _fail(400, f"client version {version} is too new. Maximum supported API version is {API_VERSION}")
    if asked < _as_tuple(MIN_API_VERSION):
        _fail(400, f"client version {version} is too old. Minimum supported API version is {MIN_API_VERSION}")


def _as_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def _flag(value: str | None) -> bool:
    """Engine boolean query values: anything but empty/0/no/false/none is true."""
    return value is not None and value.strip().lower() not in ("", "0", "no", "false", "none")


def _container(sim: DockerEngineSimulator, ref: str) -> SimContainer:
    container = sim.find(ref)
    if container is None:
        _fail(404, f"No such container: {ref}")
    return container


def _parse_filters(raw: str) -> dict[str, list[str]]:
    """`{"label": ["a=b"]}`, or the older `{"label": {"a=b": true}}` form."""
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        _fail(400, "invalid filter: invalid character in filters JSON")
    if not isinstance(parsed, dict):
        _fail(400, "invalid filter: filters must be a JSON object")
    filters = {k: list(v) if isinstance(v, list | dict) else [str(v)] for k, v in parsed.items()}
    unknown = sorted(set(filters) - set(_FILTERS))
    if unknown:
        _fail(400, f"invalid filter '{unknown[0]}'")
    return filters


def _matches(c: SimContainer, filters: dict[str, list[str]]) -> bool:
    """Different filter keys are ANDed; so are several `label` values. name/id/status values are ORed."""
    for wanted in filters.get("label", []):
        key, sep, value = wanted.partition("=")
        if key not in c.labels or (sep and c.labels[key] != value):
            return False
    checks = {"name": lambda v: v.lstrip("/") in c.name, "id": c.id.startswith, "status": c.state.__eq__}
    return all(any(checks[k](v) for v in values) for k, values in filters.items() if k in checks)


def _select(entries: list[LogEntry], args: Any) -> list[LogEntry]:
    since, until = _parse_time(args.get("since")), _parse_time(args.get("until"))
    chosen = [e for e in entries if (not since or e.ns >= since) and (not until or e.ns <= until)]
    tail = args.get("tail", "all")
    if not tail.isdigit():          # "all", or a bad value, which the Engine also reads as all
        return chosen
    # As in the Engine, tail counts the lines of both streams before the stream filter.
    return chosen[-int(tail):] if int(tail) else []


def _parse_time(raw: str | None) -> int:
    """Engine timestamps: `<seconds>[.<fraction>]` since the epoch, as nanoseconds; 0 = unset."""
    if not raw:
        return 0
    seconds, _, fraction = raw.partition(".")
    if not seconds.isdigit() or (fraction and not fraction.isdigit()):
        _fail(400, f"failed to parse value {raw} as a timestamp")
    return int(seconds) * 1_000_000_000 + int((fraction or "0").ljust(9, "0")[:9])


def rfc3339_nano(ns: int) -> str:
    """Docker's fixed-width RFC3339Nano (nine fraction digits, always present)."""
    stamp = datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{ns % 1_000_000_000:09d}Z"


def _line(entry: LogEntry, stamps: bool) -> bytes:
    prefix = f"{rfc3339_nano(entry.ns)} " if stamps else ""
    return f"{prefix}{entry.text}\n".encode()


def _frame(entry: LogEntry, stamps: bool) -> bytes:
    payload = _line(entry, stamps)
    return struct.pack(">BxxxL", _STREAM_IDS[entry.stream], len(payload)) + payload


def _summary(c: SimContainer) -> dict[str, Any]:
    status = "Up 2 hours" if c.state == "running" else "Exited (0) 5 minutes ago"
    project = c.labels.get("com.docker.compose.project", "default")
    return {
        "Id": c.id, "Names": [f"/{c.name}"], "Image": c.image, "ImageID": f"sha256:{c.id[::-1]}",
        "Command": "/docker-entrypoint.sh start", "Created": c.created, "Ports": [], "Labels": c.labels,
        "State": c.state, "Status": status, "HostConfig": {"NetworkMode": f"{project}_default"},
        "NetworkSettings": {"Networks": {}}, "Mounts": [],
    }


def _inspect(c: SimContainer) -> dict[str, Any]:
    created = datetime.fromtimestamp(c.created, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000000000Z")
    running = c.state == "running"
    return {
        "Id": c.id, "Created": created, "Path": "/docker-entrypoint.sh", "Args": ["start"],
        "State": {"Status": c.state, "Running": running, "Paused": False, "Restarting": False,
                  "OOMKilled": False, "Dead": False, "Pid": 4242 if running else 0, "ExitCode": 0,
                  "Error": "", "StartedAt": created, "FinishedAt": "0001-01-01T00:00:00Z"},
        "Image": f"sha256:{c.id[::-1]}", "Name": f"/{c.name}", "RestartCount": 0, "Driver": "overlay2",
        "Platform": "linux",
        "Config": {"Hostname": c.id[:12], "Tty": c.tty, "Image": c.image, "Labels": c.labels,
                   "Env": [], "Cmd": ["start"], "AttachStdout": True, "AttachStderr": True},
        "HostConfig": {"LogConfig": {"Type": "json-file", "Config": {}}},
        "NetworkSettings": {"Networks": {}}, "Mounts": [],
    }


def _version_body() -> dict[str, Any]:
    details = {"ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION, "Os": "linux", "Arch": "amd64"}
    return {
        "Platform": {"Name": "Docker Engine - Community"},
        "Components": [{"Name": "Engine", "Version": "26.1.4", "Details": details}],
        "Version": "26.1.4", "ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "de5c9cf", "GoVersion": "go1.21.11", "Os": "linux", "Arch": "amd64",
        "KernelVersion": "6.1.0-sandbox", "BuildTime": "2024-06-05T11:31:02.000000000+00:00",
    }
