"""The parts of the fail-safe: measurement validity, cold limits, the E-stop latch file, the books."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bessai.core.alarms.manager import AlarmManager
from bessai.core.control.books import Books
from bessai.core.control.controller import toward_zero
from bessai.core.control.latch import EstopLatchStore
from bessai.core.guard.safety import Reason, SafetyGuard, SafetyLimits, Telemetry
from bessai.core.guard.validity import MeasurementValidator
from bessai.core.runtime.bus import EventBus
from bessai.core.runtime.events import Quality, Sample
from bessai.core.stores.audit import AuditTrail
from bessai.drivers.profile_loader import load_profile

GOOD = {
    "soc_pct": 50.0,
    "battery_temp_c": 25.0,
    "pack_voltage_v": 780.0,
    "pack_current_a": 10.0,
    "active_power_kw": 30.0,
    "alarm_word": 0.0,
}


def sample(ts: float, refused: frozenset[str] = frozenset(), **roles: float | None) -> Sample:
    values = {**GOOD, **roles}
    return Sample("bess", ts, dict(values), dict(values), Quality.GOOD, refused=refused)


def validator(**limits: Any) -> MeasurementValidator:
    return MeasurementValidator(load_profile("sim_bess"), SafetyLimits(**limits), device_max_kw=100)


def why(found: tuple[Any, ...]) -> dict[str, str]:
    return {u.quantity: u.why for u in found}


def test_good_values_are_known() -> None:
    v = validator()
    assert v.check(sample(0.0), 30.0) == ()
    assert v.check(sample(1.0, soc_pct=49.99), 30.0) == ()
    assert set(v.guarded) == set(GOOD)


@pytest.mark.parametrize(
    ("role", "value", "expected"),
    [
        ("battery_temp_c", None, "not available"),
        ("pack_voltage_v", None, "not available"),
        ("battery_temp_c", -3276.8, "implausible (-3276.8 outside -40..100)"),
        ("battery_temp_c", 101.0, "implausible"),
        ("soc_pct", 655.34, "implausible (655.34 outside 0..100)"),
        ("soc_pct", -0.5, "implausible"),
        ("pack_voltage_v", 6553.5, "implausible"),
        ("pack_current_a", 3276.7, "implausible"),
        ("active_power_kw", 65.0e3, "implausible"),
        ("alarm_word", None, "not available"),
    ],
)
def test_missing_and_implausible_values_are_unknown(
    role: str, value: float | None, expected: str
) -> None:
    found = why(validator().check(sample(0.0, **{role: value}), 30.0))
    assert expected in found[role]


def test_a_refused_register_is_named_as_refused() -> None:
    found = why(
        validator().check(sample(0.0, frozenset({"battery_temp_c"}), battery_temp_c=None), 0)
    )
    assert found == {"battery_temp_c": "refused by the device"}


def test_soc_faster_than_the_power_allows_is_held_unknown() -> None:
    v = validator(capacity_kwh=200)
    assert v.check(sample(0.0, soc_pct=50.0), 30.0) == ()
    # 30 kW on 200 kWh moves SoC 0.004 %/s: 5 % in one second is no battery.
    assert "moved +5.00 %" in why(v.check(sample(1.0, soc_pct=55.0), 30.0))["soc_pct"]
    # It holds a while (one odd reading is seen), then clears once consistent again.
    assert "soc_pct" in why(v.check(sample(5.0, soc_pct=55.0), 30.0))
    assert v.check(sample(12.0, soc_pct=55.0), 30.0) == ()


def test_frozen_values_while_power_is_commanded() -> None:
    v = validator(frozen_after_s=10)
    for t in range(10):
        assert v.check(sample(float(t)), 30.0) == ()
    assert "frozen (10 s unchanged" in why(v.check(sample(10.0), 30.0))["soc_pct"]
    # Held at zero power too, until a value moves.
    assert "soc_pct" in why(v.check(sample(11.0), 0.0))
    assert v.check(sample(12.0, pack_voltage_v=780.1), 0.0) == ()


def test_constant_values_at_zero_power_are_not_frozen() -> None:
    v = validator(frozen_after_s=10)
    for t in range(60):
        assert v.check(sample(float(t)), 0.0) == ()


def test_unknown_measurement_is_an_interlock_naming_the_quantity() -> None:
    guard = SafetyGuard(SafetyLimits())
    t = Telemetry(ts=0.0, soc_pct=50, comms_up=True, unknown=(("battery_temp_c", "not available"),))
    interlocks = guard.interlocks(t, 0.0)
    assert [i.reason for i in interlocks] == [Reason.INTERLOCK_MEASUREMENT]
    assert interlocks[0].message_en == "Measurement not valid: battery_temp_c not available"
    assert guard.evaluate(30.0, t, interlocks).value_kw == 0.0


def test_cold_battery_derates_charge_and_trips() -> None:
    guard = SafetyGuard(
        SafetyLimits(max_charge_kw=100, temp_charge_min_c=0, temp_cold_derate_band_c=5)
    )
    at = {
        temp: guard.window(Telemetry(soc_pct=50, battery_temp_c=temp)) for temp in (10, 2.5, 0, -5)
    }
    assert at[10].min_kw == -100
    assert at[2.5].min_kw == pytest.approx(-50)
    assert at[2.5].charge_reason is Reason.CLAMP_COLD
    assert at[0].min_kw == 0
    assert at[-5].min_kw == 0
    assert at[-5].max_kw == 100  # discharging a cold battery is allowed until the cold trip
    assert guard.trip_cause(Telemetry(battery_temp_c=-20.0)) is not None
    assert guard.trip_cause(Telemetry(battery_temp_c=-19.0)) is None


def test_latch_store_round_trip_and_corruption(tmp_path: Path) -> None:
    store = EstopLatchStore(tmp_path / "estop.json")
    assert not store.load("bess").latched
    store.save("bess", True, "olga")
    assert store.load("bess").latched
    assert "by olga" in store.load("bess").detail
    assert not store.load("other").latched
    store.save("bess", False, "enzo")
    assert not store.load("bess").latched
    (tmp_path / "estop.json").write_text("[1, 2")
    assert store.load("bess").latched
    (tmp_path / "estop.json").write_text('{"bess": 3}')
    assert store.load("any").latched


def test_rounding_to_the_register_never_exceeds_the_value() -> None:
    assert toward_zero(62.1327, 0.001) == pytest.approx(62.132)
    assert toward_zero(-62.1327, 0.001) == pytest.approx(-62.132)
    assert toward_zero(30.0, 0.001) == 30.0
    assert toward_zero(0.3, 0.1) == pytest.approx(0.3)


class LockedAudit(AuditTrail):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.locked = True

    async def append(self, *args: Any, **kwargs: Any) -> Any:
        if self.locked:
            raise sqlite3.OperationalError("database is locked")
        return await super().append(*args, **kwargs)


async def test_books_keep_rows_while_a_store_fails_and_report_once(tmp_path: Path) -> None:
    audit = LockedAudit(tmp_path / "audit.db")
    alarms = AlarmManager(EventBus(), tmp_path / "alarms.db")
    reports: list[tuple[str, str | None]] = []
    books = Books(audit, alarms, on_failure=lambda s, e: reports.append((s, e)), retry_s=0.05)
    books.record("olga", "setpoint", "ok", _ts=100.0, kw=30)
    books.record("system", "mode", "forced", kw=0)
    assert not await books.settled(0.3)
    assert reports == [("audit", "OperationalError: database is locked")]
    assert len(books.pending) == 2
    assert not await books.settled(2.0)  # a known failure: the caller is not held up
    audit.locked = False
    assert await books.settled(2.0, even_if_failing=True)
    assert reports[-1] == ("audit", None)
    records = audit.records()
    assert next((r.action, r.ts) for r in records) == ("setpoint", 100.0)
    assert [r.action for r in records] == ["setpoint", "mode"]
    assert audit.verify().ok
    await books.stop()
    audit.close()
    alarms.close()


async def test_books_never_block_the_caller(tmp_path: Path) -> None:
    audit = LockedAudit(tmp_path / "audit.db")
    books = Books(audit, AlarmManager(EventBus(), None), retry_s=0.05)
    loop = asyncio.get_running_loop()
    started = loop.time()
    for i in range(1000):
        books.record("x", "a", "ok", i=i)
    assert loop.time() - started < 0.5
    audit.locked = False
    assert await books.settled(10.0, even_if_failing=True)
    assert len(audit.records()) == 1000
    await books.stop()
    audit.close()
