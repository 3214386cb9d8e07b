"""The Slack emulator on its own, for a bot started by hand against it.

    python -m bot.sandbox.slack_serve [--port 8099] [--signing-secret S] [--rate-limits]

`--rate-limits` (or SLACK_EMULATOR_RATE_LIMITS=on) answers as Slack does over its limits (429 with
Retry-After; bot/sandbox/slack_limits.py). Prints the Web API URL for SLACK_API_URL; Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading

from bot.sandbox.slack_emulator import SlackEmulator

ENV_FLAG = "SLACK_EMULATOR_RATE_LIMITS"
TRUE, FALSE = {"1", "true", "yes", "on"}, {"", "0", "false", "no", "off"}


def limits_from_env(environ: dict[str, str]) -> bool:
    """SLACK_EMULATOR_RATE_LIMITS as a switch; ValueError names the variable on anything else."""
    value = environ.get(ENV_FLAG, "").strip().lower()
    if value not in TRUE | FALSE:
        raise ValueError(f"{ENV_FLAG} must be on or off, not {value!r}")
    return value in TRUE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--signing-secret", default="sandbox-signing-secret")
    parser.add_argument("--rate-limits", action="store_true", help=f"enforce Slack's rate limits (or {ENV_FLAG}=on)")
    args = parser.parse_args(argv)
    try:
        limited = args.rate_limits or limits_from_env(dict(os.environ))
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with SlackEmulator(signing_secret=args.signing_secret, port=args.port) as emu:
        if limited:
            emu.enable_rate_limits()
        print(f"Slack emulator: SLACK_API_URL={emu.api_url} rate limits {'on' if limited else 'off'}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):   # Ctrl-C is how a person stops it
            stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
