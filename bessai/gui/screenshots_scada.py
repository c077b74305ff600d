"""The screenshot scene of the grid operator's link (``make screenshots``): a demo gateway
with its IEC 104 outstation, an engineer handing authority over in two steps, a master that
starts and commands, then the panel and its point list on Settings.

The master is scapy's IEC 104 layers (a dev dependency, the tests' second implementation)
on a real socket: the screen shows what a grid operator's connection looks like.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import tempfile
from pathlib import Path

from PySide6.QtWidgets import QApplication, QScrollArea

from bessai.core.config.scada import Iec104Settings, ScadaSettings
from bessai.core.site.scada_link import ScadaLink
from bessai.gui.bridge import CoreBridge
from bessai.gui.demo import demo_gateway
from bessai.gui.main_window import PAGES, MainWindow
from bessai.gui.screenshots import SIZES, Shooter, until
from bessai.gui.theme import apply_theme

COMMON_ADDRESS = 47


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _master(port: int) -> asyncio.StreamWriter:
    """STARTDT, 2101 ON and 2001 = 5.0, encoded by scapy; what comes back is read and dropped."""
    from scapy.contrib.scada.iec104 import (
        IEC104_IO_C_SC_NA_1_IOA,
        IEC104_IO_C_SE_NC_1_IOA,
        IEC104_I_Message_SingleIOA,
        IEC104_U_Message,
    )

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(bytes(IEC104_U_Message(startdt_act=1)))
    for seq, io in enumerate(
        (
            IEC104_IO_C_SC_NA_1_IOA(information_object_address=2101, scs=1),
            IEC104_IO_C_SE_NC_1_IOA(information_object_address=2001, scaled_value=5.0),
        )
    ):
        await asyncio.sleep(0.5)
        apdu = IEC104_I_Message_SingleIOA(  # type: ignore[no-untyped-call]
            tx_seq_num=seq, cot=6, common_asdu_address=COMMON_ADDRESS, io=[io]
        )
        writer.write(bytes(apdu))

    async def drain() -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while await reader.read(4096):
                pass

    asyncio.get_running_loop().create_task(drain())
    return writer


async def scada_scene(out: Path, languages: list[str], theme: str) -> list[Path]:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, theme)
    with tempfile.TemporaryDirectory() as tmp:
        gateway = await demo_gateway(Path(tmp))
        port = _free_port()
        link = ScadaLink(
            gateway,
            ScadaSettings(iec104=Iec104Settings(port=port, common_address=COMMON_ADDRESS)),
        )
        await link.start()
        gateway.links.append(link)
        bridge = CoreBridge(gateway)
        window = MainWindow(bridge)
        window.set_theme(theme)
        window.show()
        shooter = Shooter(window, out, languages)
        writer: asyncio.StreamWriter | None = None
        try:
            await bridge.login("demo-engineer", "hunter2-demo")
            panel = window.settings.scada
            assert panel is not None
            scroll = window.settings.findChild(QScrollArea)
            assert scroll is not None
            window.show_page(PAGES.index("Settings"))
            for language in languages:  # the first step: the choice waiting for its confirm
                window.set_language(language)
                for width, height in SIZES:
                    window.resize(width, height)
                    panel.refresh()
                    panel.select.click()
                    await asyncio.sleep(0.4)
                    scroll.ensureWidgetVisible(panel.select, 0, 200)
                    await asyncio.sleep(0.2)
                    shooter.save(window, "scada-select", width, height, language)
                    panel.cancel.click()
            panel.select.click()
            panel.confirm.click()
            await until(lambda: (bridge.scada_summary() or {}).get("authority") == "remote", 5.0)
            writer = await _master(port)
            await until(lambda: bool((bridge.scada_summary() or {}).get("last_command")), 5.0)
            await asyncio.sleep(1.5)
            for language in languages:
                window.set_language(language)
                for width, height in SIZES:
                    window.resize(width, height)
                    panel.refresh()
                    await asyncio.sleep(0.3)
                    scroll.ensureWidgetVisible(panel.title, 0, 0)
                    scroll.verticalScrollBar().setValue(panel.y())
                    await asyncio.sleep(0.2)
                    shooter.save(window, "scada-remote", width, height, language)
                    scroll.ensureWidgetVisible(panel.points_label, 0, 0)
                    scroll.verticalScrollBar().setValue(panel.y() + panel.points_label.y())
                    await asyncio.sleep(0.2)
                    shooter.save(window, "scada-points", width, height, language)
        finally:
            if writer is not None:
                writer.close()
            bridge.close()
            window.close()
            await gateway.stop()
    return shooter.written
