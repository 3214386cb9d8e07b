"""Web API methods on conversations and the directory: conversations.history/replies (with real cursor paging),
info and archive/unarchive, users, usergroups."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from bot.sandbox.slack_args import ApiContext, Args, Handler, SlackError
from bot.sandbox.slack_state import Message, ts_micros

SCOPES = ("app_mentions:read,channels:history,chat:write,commands,files:write,reactions:write,"
          "users:read,usergroups:read")


def auth_test(ctx: ApiContext, args: Args) -> dict[str, Any]:
    state = ctx.state
    return {"ok": True, "url": "https://sandbox.slack.com/", "team": "Sandbox", "team_id": state.team_id,
            "user": state.display_name(state.bot_user_id), "user_id": state.bot_user_id,
            "bot_id": state.bot_id, "is_enterprise_install": False}


def _encode_cursor(ts: str) -> str:
    return base64.b64encode(f"next_ts:{ts}".encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        kind, _, ts = base64.b64decode(cursor, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise SlackError("invalid_cursor") from None
    if kind != "next_ts" or not ts:
        raise SlackError("invalid_cursor")
    return ts_micros(ts)


def _window(messages: list[Message], args: Args) -> list[Message]:
    """Keep messages between oldest and latest; bounds are exclusive unless inclusive=true."""
    oldest = ts_micros(args.opt("oldest") or "0")
    latest_arg = args.opt("latest")
    latest = ts_micros(latest_arg) if latest_arg else None
    inclusive = args.flag("inclusive")

    def inside(msg: Message) -> bool:
        ts = ts_micros(msg["ts"])
        above = ts >= oldest if inclusive else ts > oldest
        below = latest is None or (ts <= latest if inclusive else ts < latest)
        return above and below

    return [m for m in messages if inside(m)]


def _page(ctx: ApiContext, messages: list[Message], args: Args, newest_first: bool) -> dict[str, Any]:
    """One page. The cursor names the first message of the next page, so new posts never shift it."""
    limit = args.number("limit", ctx.state.default_limit)
    limit = min(limit if limit > 0 else ctx.state.default_limit, ctx.state.max_limit)
    if newest_first:
        messages = messages[::-1]
    cursor = args.opt("cursor")
    if cursor:
        start = _decode_cursor(cursor)
        messages = [m for m in messages if (ts_micros(m["ts"]) <= start if newest_first
                                            else ts_micros(m["ts"]) >= start)]
    page, rest = messages[:limit], messages[limit:]
    if not args.flag("include_all_metadata"):
        for msg in page:
            msg.pop("metadata", None)
    next_cursor = _encode_cursor(rest[0]["ts"]) if rest else ""
    return {"ok": True, "messages": page, "has_more": bool(rest),
            "response_metadata": {"next_cursor": next_cursor}}


def history(ctx: ApiContext, args: Args) -> dict[str, Any]:
    channel = args.need("channel", error="channel_not_found")
    messages = _window(ctx.state.top_level(channel), args)
    return {**_page(ctx, messages, args, newest_first=True), "pin_count": 0, "channel_actions_count": 0}


def replies(ctx: ApiContext, args: Args) -> dict[str, Any]:
    channel = args.need("channel", error="channel_not_found")
    ts = args.need("ts", error="thread_not_found")
    messages = _window(ctx.state.thread(channel, ts), args)
    return _page(ctx, messages, args, newest_first=False)


def users_info(ctx: ApiContext, args: Args) -> dict[str, Any]:
    return {"ok": True, "user": ctx.state.user(args.need("user", error="user_not_found"))}


def usergroup_users(ctx: ApiContext, args: Args) -> dict[str, Any]:
    group_id = args.need("usergroup", error="no_such_subteam")
    with ctx.state.lock:
        group = ctx.state.usergroups.get(group_id)
        if group is None:
            raise SlackError("no_such_subteam", f"no usergroup {group_id!r}")
        return {"ok": True, "users": list(group["users"])}


def conversations_info(ctx: ApiContext, args: Args) -> dict[str, Any]:
    return {"ok": True, "channel": ctx.state.channel(args.need("channel", error="channel_not_found"))}


def archive(ctx: ApiContext, args: Args) -> dict[str, Any]:
    channel = args.need("channel", error="channel_not_found")
    if ctx.state.channel(channel).get("is_archived"):
        raise SlackError("already_archived", f"channel {channel} is already archived")
    ctx.state.set_archived(channel, True)
    return {"ok": True}


def unarchive(ctx: ApiContext, args: Args) -> dict[str, Any]:
    channel = args.need("channel", error="channel_not_found")
    if not ctx.state.channel(channel).get("is_archived"):
        raise SlackError("not_archived", f"channel {channel} is not archived")
    ctx.state.set_archived(channel, False)
    return {"ok": True}


READ_METHODS: dict[str, Handler] = {
    "conversations.archive": archive,
    "conversations.unarchive": unarchive,
    "auth.test": auth_test,
    "conversations.history": history,
    "conversations.replies": replies,
    "conversations.info": conversations_info,
    "users.info": users_info,
    "usergroups.users.list": usergroup_users,
}
