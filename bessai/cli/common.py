"""What several subcommands share: the exit code of a configuration error, the secret
prompt, the wait for a stop signal and whether a display is there."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import os
import signal
import sys
from typing import TYPE_CHECKING

from bessai.notice import notice_for_terminal

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

EXIT_CONFIG = 2


def read_secret(prompt: str) -> str:
    """A PIN or password from the terminal (not echoed, after the system-use notice) or, when
    piped, from stdin's first line."""
    if sys.stdin.isatty():
        show_notice()
        return getpass.getpass(prompt)
    return sys.stdin.readline().rstrip("\n")


_notice_shown = False


def show_notice() -> None:
    """The system-use notice (SR 1.12), once per run, before the first login prompt."""
    global _notice_shown
    if not _notice_shown:
        print(notice_for_terminal(), file=sys.stderr, flush=True)
        _notice_shown = True


async def wait_for_stop(duration_s: float | None) -> None:
    """Until SIGINT or SIGTERM, or ``duration_s`` seconds when given."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        if duration_s is None:
            await stop.wait()
        else:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(duration_s):
                    await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


def display_available() -> bool:
    """Whether Qt can open a screen: always off Linux, else one of its display variables."""
    if not sys.platform.startswith("linux"):
        return True
    return any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))
