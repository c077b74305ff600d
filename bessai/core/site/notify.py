"""systemd's service notification protocol (sd_notify), as the documentation describes it.

With ``Type=notify`` systemd hands the service ``NOTIFY_SOCKET`` (a datagram
socket; a leading ``@`` means the abstract namespace) and, with
``WatchdogSec``, ``WATCHDOG_USEC``. The gateway says ``READY=1`` once its
first poll is done, pings ``WATCHDOG=1`` from its own event loop at half the
watchdog period (so a loop that stalls, core or GUI, stops the pings and
systemd restarts the service) and ``STOPPING=1`` when it stops. Without
``NOTIFY_SOCKET`` every call does nothing.
"""

from __future__ import annotations

import logging
import os
import socket

from bessai.core.runtime.periodic import Periodic

log = logging.getLogger(__name__)


class SystemdNotifier:
    """Sends state lines to systemd; silent when not run by systemd."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.address = env.get("NOTIFY_SOCKET") or None
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        mine = not pid or pid == str(os.getpid())
        self.watchdog_s = int(usec) / 1e6 if usec.isdigit() and int(usec) > 0 and mine else None
        self.ready_sent = False
        self._failed = False
        self._pinger: Periodic | None = None

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *lines: str) -> bool:
        """One datagram of ``KEY=value`` lines; False (logged once) if it could not go."""
        if self.address is None:
            return False
        target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.setblocking(False)
                sock.sendto("\n".join(lines).encode(), target)
        except OSError as exc:
            if not self._failed:
                log.warning("systemd notification failed", extra={"error": str(exc)})
            self._failed = True
            return False
        self._failed = False
        return True

    def ready(self, status: str) -> None:
        if not self.ready_sent:
            self.ready_sent = self.send("READY=1", f"STATUS={status}")

    def stopping(self) -> None:
        self.send("STOPPING=1", "STATUS=stopping")

    def start_watchdog(self) -> None:
        """Ping from the running loop at half the watchdog period."""
        if self.watchdog_s is not None and self._pinger is None:
            self._pinger = Periodic("sd-watchdog", self.watchdog_s / 2, self._ping)
            self._pinger.start()

    async def _ping(self) -> None:
        self.send("WATCHDOG=1")

    async def stop(self) -> None:
        if self._pinger is not None:
            await self._pinger.stop()
            self._pinger = None
