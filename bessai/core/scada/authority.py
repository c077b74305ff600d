"""Who holds command authority over the site: the local operator or the grid operator.

Local: every command from the grid operator is confirmed negatively (and
audited). Remote: the local operator's mode and setpoint commands are refused;
the E-stop always works.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Authority:
    remote: bool
    since: float
    by: str

    def switch(self, remote: bool, by: str, now: float) -> bool:
        """Hand authority over; False if it already was there."""
        if remote == self.remote:
            return False
        self.remote, self.since, self.by = remote, now, by
        return True

    @property
    def name(self) -> str:
        return "remote" if self.remote else "local"
