"""The simulator's pymodbus data model: one SimDevice per unit id over a profile's registers."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from pymodbus.exceptions import NoSuchIdException
from pymodbus.simulator import DataType, SimData, SimDevice

from bessai.drivers.profile import Profile, Table


def sim_devices(
    profile: Profile,
    image: dict[Table, dict[int, int]],
    unit_ids: list[int],
    action_for: Callable[[int], Any],
    *,
    strict_gaps: bool = False,
) -> list[SimDevice]:
    """The blocks pymodbus serves: every register (its words from the image), short gaps
    as reserved zeros unless ``strict_gaps``, for each unit id with its own handler."""
    blocks: dict[Table, list[SimData]] = {t: [] for t in Table}
    for reg in profile.registers:
        if reg.table.is_bit:
            blocks[reg.table].append(
                SimData(
                    reg.address,
                    values=[False],
                    datatype=DataType.BITS,
                    readonly=not reg.writable,
                )
            )
        else:
            words = [image[reg.table].get(a, 0) for a in range(reg.address, reg.end)]
            blocks[reg.table].append(
                SimData(
                    reg.address,
                    values=words,
                    datatype=DataType.REGISTERS,
                    readonly=not reg.writable,
                )
            )
    if not strict_gaps:
        # Like most devices, answer short unmapped stretches between registers with
        # zeros ("reserved"); strict mode refuses them, as some devices do.
        for table in (Table.HOLDING, Table.INPUT):
            entries = sorted(blocks[table], key=lambda d: d.address)
            for before, after in itertools.pairwise(entries):
                gap_start = before.address + len(before.values)  # type: ignore[arg-type]
                if 0 < after.address - gap_start <= 125:
                    blocks[table].append(
                        SimData(
                            gap_start,
                            values=[0] * (after.address - gap_start),
                            datatype=DataType.REGISTERS,
                            readonly=True,
                        )
                    )
    for table in (Table.COIL, Table.DISCRETE):
        if not blocks[table]:
            # pymodbus needs one entry per table; a lone bit at the very end of the space.
            blocks[table].append(
                SimData(65535, values=[False], datatype=DataType.BITS, readonly=True)
            )
    for table in (Table.HOLDING, Table.INPUT):
        if not blocks[table]:
            blocks[table].append(SimData(65534, count=1, datatype=DataType.INVALID))
    # A gateway (Victron's GX) serves several units on one socket; they share the image.
    return [
        SimDevice(
            id=unit,
            simdata=(
                blocks[Table.COIL],
                blocks[Table.DISCRETE],
                blocks[Table.HOLDING],
                blocks[Table.INPUT],
            ),
            action=action_for(unit),
        )
        for unit in unit_ids
    ]


class OwnUnitOnly:
    """The server's data store, answering only the simulated device's own unit id.

    pymodbus' SimCore falls back to unit 0 for an unknown id (and logs a
    traceback when there is none); a real device stays silent instead, so the
    request raises the error pymodbus turns into no answer.
    """

    def __init__(self, core: Any, unit_ids: list[int]) -> None:
        self._core = core
        self._unit_ids = unit_ids

    def _check(self, device_id: int) -> None:
        if device_id not in self._unit_ids:
            raise NoSuchIdException(f"unit {device_id}")

    async def async_getValues(self, device_id: int, *args: Any) -> Any:  # noqa: N802 - pymodbus' name
        self._check(device_id)
        return await self._core.async_getValues(device_id, *args)

    async def async_setValues(self, device_id: int, *args: Any) -> Any:  # noqa: N802 - pymodbus' name
        self._check(device_id)
        return await self._core.async_setValues(device_id, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._core, name)
