"""Alarms belong to the site: acknowledged and shelved on a site whose devices are read-only."""

from __future__ import annotations

import json
from pathlib import Path

from argon2 import PasswordHasher

from bessai.core.alarms.manager import AlarmState
from bessai.core.config.settings import DeviceConfig
from bessai.core.guard.safety import Reason
from bessai.core.site.gateway import Gateway
from bessai.core.stores.auth import AuthService, Role

FAST = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


async def test_a_read_only_site_acknowledges_and_shelves_its_alarms(tmp_path: Path) -> None:
    auth = AuthService(tmp_path / "users.db", hasher=FAST)
    await auth.add_user("ana", Role.ADMIN, "271828")
    admin = await auth.login("ana", "271828")
    await auth.add_user("olga", Role.OPERATOR, "314159", by=admin)
    await auth.add_user("vera", Role.VIEWER, "a long password", by=admin)
    monitor = tmp_path / "bms_monitor.json"
    monitor.write_text(
        json.dumps(
            {
                "id": "bms_monitor",
                "manufacturer": "test",
                "model": "a read-only battery monitor",
                "source": "this test",
                "registers": [
                    {"name": "soc", "table": "input", "address": 0, "type": "u16",
                     "scale": 0.01, "role": "soc_pct"},
                    {"name": "volts", "table": "input", "address": 1, "type": "u16",
                     "scale": 0.1, "role": "pack_voltage_v"},
                ],
            }
        )
    )  # fmt: skip
    meter = DeviceConfig(name="gx", profile=str(monitor), simulated=True)
    gw = Gateway("ro-site", [meter], data_dir=tmp_path, auth=auth)
    await gw.start()
    try:
        assert gw.controllers == {}  # nothing to command on this site
        gw.alarms.update("store_failed", True, "disk full")
        operator = await auth.login("olga", "314159")
        viewer = await auth.login("vera", "a long password")
        refused = await gw.acknowledge_alarm(viewer, "store_failed")
        assert refused.reason is Reason.REFUSED_ROLE
        assert (await gw.acknowledge_alarm(None, "store_failed")).reason is (
            Reason.INTERLOCK_NO_OPERATOR
        )
        assert (await gw.acknowledge_alarm(operator, "store_failed", "seen")).ok
        assert gw.alarms.get("store_failed").state is AlarmState.ACTIVE_ACK
        assert (await gw.shelve_alarm(operator, "store_failed", 600)).reason is Reason.REFUSED_ROLE
        assert (await gw.shelve_alarm(admin, "store_failed", 600)).ok
        records = [(r.user, r.action, r.outcome) for r in gw.audit.records()]
        assert ("olga", "alarm_ack", "ok") in records
        assert ("vera", "alarm_ack", "refused") in records
        assert ("ana", "alarm_shelve", "ok") in records
    finally:
        await gw.stop()
