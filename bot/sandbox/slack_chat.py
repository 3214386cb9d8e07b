"""Web API methods that write: chat.* and reactions.add. The bot (token owner) is the author."""

from __future__ import annotations

from typing import Any

from bot.sandbox.slack_args import ApiContext, Args, Handler, SlackError
from bot.sandbox.slack_blocks import validate_blocks, validate_text

PERMALINK_BASE = "https://sandbox.slack.com/archives"


def _content(args: Args) -> tuple[str, Any]:
    """(text, blocks) after Slack's checks: invalid_blocks, no_text, msg_too_long."""
    text = args.opt("text") or ""
    blocks = args.structured("blocks", error="invalid_blocks")
    validate_blocks(blocks)
    validate_text(text, blocks)
    return text, blocks


def _metadata(args: Args) -> dict[str, Any] | None:
    metadata = args.structured("metadata", error="invalid_metadata_format")
    if metadata is None:
        return None
    if not isinstance(metadata, dict) or not isinstance(metadata.get("event_type"), str):
        raise SlackError("invalid_metadata_format", "metadata needs event_type (string) and event_payload")
    if not isinstance(metadata.get("event_payload", {}), dict):
        raise SlackError("invalid_metadata_format", "event_payload must be an object")
    return {"event_type": metadata["event_type"], "event_payload": metadata.get("event_payload", {})}


def post_message(ctx: ApiContext, args: Args) -> dict[str, Any]:
    channel = args.need("channel", error="channel_not_found")
    ctx.state.channel(channel)
    text, blocks = _content(args)
    msg = ctx.state.post(channel, ctx.state.bot_user_id, text, blocks=blocks, metadata=_metadata(args),
                         thread_ts=args.opt("thread_ts"), reply_broadcast=args.flag("reply_broadcast"))
    return {"ok": True, "channel": channel, "ts": msg["ts"], "message": msg}


def update(ctx: ApiContext, args: Args) -> dict[str, Any]:
    channel = args.need("channel", error="channel_not_found")
    ts = args.need("ts", error="message_not_found")
    ctx.state.channel(channel)
    current = ctx.state.get(channel, ts)
    if current is None:
        raise SlackError("message_not_found", f"no message {ts} in {channel}")
    if current["user"] != ctx.state.bot_user_id:
        raise SlackError("cant_update_message", "a bot can only edit its own messages")
    text, blocks = _content(args)
    msg = ctx.state.update(channel, ts, text=text, blocks=blocks, metadata=_metadata(args))
    return {"ok": True, "channel": channel, "ts": ts, "text": msg["text"], "message": msg}


def post_ephemeral(ctx: ApiContext, args: Args) -> dict[str, Any]:
    channel = args.need("channel", error="channel_not_found")
    ctx.state.channel(channel)
    user = args.need("user", error="user_not_found")
    ctx.state.user(user)
    text, blocks = _content(args)
    stored = ctx.state.add_ephemeral({"channel": channel, "user": user, "text": text, "blocks": blocks,
                                      "thread_ts": args.opt("thread_ts"), "source": "chat.postEphemeral"})
    return {"ok": True, "message_ts": stored["message_ts"]}


def get_permalink(ctx: ApiContext, args: Args) -> dict[str, Any]:
    channel = args.need("channel", error="channel_not_found")
    ctx.state.channel(channel)
    ts = args.need("message_ts", error="message_not_found")
    msg = ctx.state.get(channel, ts)
    if msg is None:
        raise SlackError("message_not_found", f"no message {ts} in {channel}")
    return {"ok": True, "channel": channel, "permalink": permalink(channel, msg)}


def permalink(channel: str, msg: dict[str, Any]) -> str:
    link = f"{PERMALINK_BASE}/{channel}/p{msg['ts'].replace('.', '')}"
    if msg.get("thread_ts") not in (None, msg["ts"]):
        link += f"?thread_ts={msg['thread_ts']}&cid={channel}"
    return link


def add_reaction(ctx: ApiContext, args: Args) -> dict[str, Any]:
    channel = args.need("channel", error="channel_not_found")
    ts = args.need("timestamp", error="no_item_specified")
    name = (args.opt("name") or "").strip(":")
    if not name:
        raise SlackError("invalid_name", "reaction name is required")
    ctx.state.add_reaction(channel, ts, ctx.state.bot_user_id, name)
    return {"ok": True}


CHAT_METHODS: dict[str, Handler] = {
    "chat.postMessage": post_message,
    "chat.update": update,
    "chat.postEphemeral": post_ephemeral,
    "chat.getPermalink": get_permalink,
    "reactions.add": add_reaction,
}
