"""File upload v2 (what files_upload_v2 does): get an upload URL, POST the bytes there, complete."""

from __future__ import annotations

import copy
import itertools
import threading
import time
from typing import Any

from bot.sandbox.slack_args import ApiContext, Args, Handler, SlackError


class FileStore:
    """Uploaded files by id; `content` is None until the bytes arrive at the upload URL."""

    def __init__(self) -> None:
        self._files: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def new(self, name: str, length: int, user: str) -> str:
        with self._lock:
            file_id = f"F0SANDBOX{next(self._ids):04d}"
            self._files[file_id] = {
                "id": file_id, "name": name, "title": name, "size": length, "user": user,
                "created": int(time.time()), "mimetype": "text/plain", "filetype": "text",
                "url_private": f"https://files.sandbox.slack.com/files-pri/{file_id}/{name}",
                "permalink": f"https://sandbox.slack.com/files/{user}/{file_id}/{name}",
                "channels": [], "content": None,
            }
            return file_id

    def upload(self, file_id: str, content: bytes) -> bool:
        with self._lock:
            if file_id not in self._files:
                return False
            self._files[file_id]["content"] = content
            self._files[file_id]["size"] = len(content)
            return True

    def complete(self, file_id: str, title: str | None, channel: str | None) -> dict[str, Any]:
        """Mark an uploaded file shared; returns its public form (no bytes)."""
        with self._lock:
            stored = self._files.get(file_id)
            if stored is None or stored["content"] is None:
                raise SlackError("file_not_found", f"file {file_id} was not uploaded")
            if title:
                stored["title"] = title
            if channel and channel not in stored["channels"]:
                stored["channels"].append(channel)
            return {k: copy.deepcopy(v) for k, v in stored.items() if k != "content"}

    def clear(self) -> None:
        with self._lock:
            self._files.clear()

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._files.values()))


def get_upload_url(ctx: ApiContext, args: Args) -> dict[str, Any]:
    filename = args.need("filename")
    length = args.number("length", -1)
    if length < 0:
        raise SlackError("invalid_arguments", "length (bytes) is required")
    file_id = ctx.files.new(filename, length, ctx.state.bot_user_id)
    return {"ok": True, "upload_url": f"{ctx.base_url}/upload/{file_id}", "file_id": file_id}


def complete_upload(ctx: ApiContext, args: Args) -> dict[str, Any]:
    entries = args.structured("files")
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        raise SlackError("invalid_arguments", "files must be a JSON list of {id, title}")
    channel = args.opt("channel_id") or (args.opt("channels") or "").split(",")[0] or None
    if channel:
        ctx.state.channel(channel)
    shared = [ctx.files.complete(str(e.get("id")), e.get("title"), channel) for e in entries]
    if channel:
        # The file appears as a message from the uploader, with the initial comment as its text.
        ctx.state.post(channel, ctx.state.bot_user_id, args.opt("initial_comment") or "", files=shared,
                       thread_ts=args.opt("thread_ts"))
    return {"ok": True, "files": shared}


FILE_METHODS: dict[str, Handler] = {
    "files.getUploadURLExternal": get_upload_url,
    "files.completeUploadExternal": complete_upload,
}
