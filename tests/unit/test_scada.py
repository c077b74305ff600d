"""The outstation's parts that need no socket: the point list, the event buffer, the dead band."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from bessai.core.config.scada import ScadaSettings
from bessai.core.config.settings import ConfigError
from bessai.core.scada.buffer import EventBuffer
from bessai.core.scada.outstation import Outstation, ScadaUnavailable, _beyond
from bessai.core.scada.points import DEFAULT_POINTS, PointSpec, load_point_list
from bessai.core.scada.site import COMMANDS, SOURCES
from bessai.core.scada.stack import Value


def test_the_default_list_is_the_readme_s() -> None:
    by_ioa = {p.ioa: p for p in DEFAULT_POINTS}
    assert len(by_ioa) == len(DEFAULT_POINTS)
    assert sorted(by_ioa) == [
        *(1001, 1002, 1003, 1004, 1005, 1006, 1010),
        *(2001, 2002, 2101),
        *(3001, 3002, 3003, 3004, 3005),
    ]
    assert {p.source for p in DEFAULT_POINTS if p.source} == set(SOURCES)
    assert {p.command for p in DEFAULT_POINTS if p.command} == set(COMMANDS)
    assert by_ioa[2101].type == "C_SC_NA_1"
    assert by_ioa[2001].type == "C_SE_NC_1"
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for p in DEFAULT_POINTS:
        assert f"| {p.ioa} | {p.type} |" in readme, p.ioa


def test_a_point_list_file_replaces_the_default(tmp_path: Path) -> None:
    path = tmp_path / "points.toml"
    path.write_text(
        '[[point]]\nioa = 7001\ntype = "M_ME_NC_1"\nsource = "active_power_kw"\n'
        "scale = 0.001\ndeadband = 0.01\n\n"
        '[[point]]\nioa = 7101\ntype = "C_SE_NC_1"\ncommand = "active_power_setpoint_kw"\n'
        "scale = 0.001\n"
    )
    points = load_point_list(path)
    assert [(p.ioa, p.type, p.scale) for p in points] == [
        (7001, "M_ME_NC_1", 0.001),
        (7101, "C_SE_NC_1", 0.001),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("not toml [", "not valid TOML"),
        ("[[point]]\nioa = 0\ntype = 'M_ME_NC_1'\nsource = 'soc_pct'\n", "point.0.ioa = 0"),
        (
            "[[point]]\nioa = 1\ntype = 'M_ME_NC_1'\nsource = 'soc_pct'\n"
            "[[point]]\nioa = 1\ntype = 'M_SP_NA_1'\nsource = 'comms_lost'\n",
            "information object address 1 is used twice",
        ),
        (
            "[[point]]\nioa = 1\ntype = 'C_SC_NA_1'\ncommand = 'active_power_setpoint_kw'\n",
            "command 'active_power_setpoint_kw' does not go with C_SC_NA_1",
        ),
        ("[[point]]\nioa = 1\ntype = 'M_ME_XX_1'\nsource = 'soc_pct'\n", "point.0.type"),
        ("[[point]]\nioa = 1\ntype = 'M_ME_NC_1'\nsource = 'soc_pct'\nscale = 0\n", "scale = 0"),
    ],
)
def test_a_bad_point_list_is_one_line_naming_file_and_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "points.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_point_list(path)
    message = str(caught.value)
    assert message.startswith(f"point list {path}: ")
    assert "\n" not in message
    assert expected in message


def test_the_buffer_drops_the_oldest_and_counts_them() -> None:
    buffer: EventBuffer[int] = EventBuffer(3)
    for event in range(5):
        buffer.add(event)
    assert buffer.dropped == 2
    taken = buffer.take()
    assert taken == [2, 3, 4]
    assert len(buffer) == 0
    buffer.add(5)
    buffer.add(6)
    buffer.put_back(taken)  # room for one: the newest unsent goes back in front
    assert buffer.take() == [4, 5, 6]
    assert buffer.dropped == 4


def test_the_dead_band_and_a_quality_change_decide_what_is_spontaneous() -> None:
    spec = PointSpec(ioa=1001, type="M_ME_TF_1", source="active_power_kw", deadband=0.5)
    single = PointSpec(ioa=3003, type="M_SP_TB_1", source="estop_latched")
    good = Value(10.0, False, False, 1.0)
    assert not _beyond(spec, good, Value(10.4, False, False, 2.0))
    assert _beyond(spec, good, Value(10.6, False, False, 2.0))
    assert _beyond(spec, good, Value(10.0, True, True, 2.0))
    assert _beyond(single, Value(False, False, False, 1.0), Value(True, False, False, 2.0))
    assert not _beyond(single, Value(True, False, False, 1.0), Value(True, False, False, 2.0))


async def test_without_the_stack_the_start_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "c104", None)  # as if not installed
    monkeypatch.delitem(sys.modules, "bessai.core.scada.stack")
    site: Any = object()  # not reached: the stack is looked for first
    outstation = Outstation(site, ScadaSettings(), DEFAULT_POINTS)
    with pytest.raises(ScadaUnavailable) as caught:
        await outstation.start()
    assert "pip install 'bessai-edge[iec104]'" in str(caught.value)
    assert "GPLv3" in str(caught.value)
