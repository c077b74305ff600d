"""Links the gateway starts after everything else and stops before anything else.

The grid operator's link (``scada_link.ScadaLink``) is one: it reads and
commands a site that is already running, and lets go of it first. A link that
cannot start raises ``StartError`` with one line.
"""

from __future__ import annotations

from typing import Protocol


class SiteLink(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...
