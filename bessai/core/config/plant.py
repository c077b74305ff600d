"""The plant a site file describes: which inverter drives which batteries, the POI meter, the limits.

A site file's ``role`` and ``battery`` keys and its ``[site]`` table say how
the devices make one plant: each inverter (PCS) names the BMS of the racks it
drives (``battery = "bms1"`` or a list of racks in parallel; a BMS may itself
name the rack BMS under it), and ``[site]`` names the meter at the point of
interconnection and the grid connection's limits. ``plant_topology`` checks
the wiring and gives the core a typed, Qt-free description of it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field

from bessai.drivers.profile import Profile, Role

if TYPE_CHECKING:
    from bessai.core.config.settings import DeviceConfig


class PlantError(ValueError):
    """A plant that cannot be wired as written: one line naming the device or key."""


class SiteSettings(BaseModel):
    """The ``[site]`` table: the POI meter and the grid connection's limits (all optional)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    poi_meter: str | None = Field(
        default=None, description="The device (role meter) at the point of interconnection"
    )
    export_limit_kw: Annotated[float | None, Field(ge=0)] = Field(
        default=None, description="Most the site may export at the POI (0: no export)"
    )
    import_limit_kw: Annotated[float | None, Field(ge=0)] = Field(
        default=None, description="Most the site may import at the POI"
    )
    ramp_kw_per_s: Annotated[float | None, Field(gt=0)] = Field(
        default=None, description="Fastest change of the batteries' sum at the POI"
    )


@dataclass(frozen=True)
class PlantTopology:
    """The site as a plant: inverters and their batteries, BMS racks, meters, the POI and limits.

    ``inverters`` maps every device of role inverter to the BMS it names
    directly, in the file's order (empty: a hybrid inverter with its own
    battery, or an inverter without a BMS device); ``racks`` maps a BMS to the
    rack BMS it names. Mappings are read-only by convention: build a new one.
    """

    inverters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    bms: tuple[str, ...] = ()
    meters: tuple[str, ...] = ()
    others: tuple[str, ...] = ()
    racks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    poi_meter: str | None = None
    export_limit_kw: float | None = None
    import_limit_kw: float | None = None
    ramp_kw_per_s: float | None = None

    @property
    def is_plant(self) -> bool:
        """More than a lone device: an inverter names a battery, or a POI meter is named."""
        return self.poi_meter is not None or any(self.inverters.values())

    def batteries_of(self, inverter: str) -> tuple[str, ...]:
        """Every BMS under an inverter: those it names, then their racks, depth first."""

        def walk(names: Sequence[str]) -> Iterator[str]:
            for name in names:
                yield name
                yield from walk(self.racks.get(name, ()))

        return tuple(walk(self.inverters.get(inverter, ())))

    def inverter_of(self, bms: str) -> str | None:
        """The inverter that drives a BMS's battery (through its racks), or None."""
        for inverter in self.inverters:
            if bms in self.batteries_of(inverter):
                return inverter
        return None

    def unclaimed_bms(self) -> tuple[str, ...]:
        """BMS no inverter drives: monitored, guarding nothing."""
        return tuple(b for b in self.bms if self.inverter_of(b) is None)


def _batteries(dev: DeviceConfig) -> tuple[str, ...]:
    if dev.battery is None:
        return ()
    return (dev.battery,) if isinstance(dev.battery, str) else tuple(dev.battery)


def plant_topology(devices: Sequence[DeviceConfig], site: SiteSettings) -> PlantTopology:
    """Check how the devices are wired and describe the plant; raises PlantError (one line).

    Refused: a name that is no device, a battery that is not a BMS, a device other
    than an inverter or BMS naming a battery, a BMS claimed twice, a BMS chain that
    loops, a POI meter that is not a meter.
    """
    by_name = {d.name: (i, d) for i, d in enumerate(devices)}
    known = ", ".join(by_name)
    claimed: dict[str, str] = {}
    for i, dev in enumerate(devices):
        names = _batteries(dev)
        where = f"devices[{i}] ({dev.name}) battery"
        if names and dev.role not in ("inverter", "bms"):
            raise PlantError(
                f"{where}: a device of role {dev.role!r} drives no battery "
                "(only an inverter, or a BMS over its racks, names one)"
            )
        for name in names:
            if name not in by_name:
                raise PlantError(f"{where} = {name!r}: no such device (the site has {known})")
            other = by_name[name][1]
            if other.role != "bms":
                raise PlantError(
                    f"{where} = {name!r}: {name} has role {other.role!r}, expected 'bms'"
                )
            if name in claimed:
                raise PlantError(
                    f"{where} = {name!r}: {name} is already the battery of {claimed[name]} "
                    "(a BMS belongs to one inverter)"
                )
            claimed[name] = dev.name
    racks = {d.name: _batteries(d) for d in devices if d.role == "bms" and d.battery}
    for start in racks:
        seen = [start]
        current = start
        while current in claimed:
            current = claimed[current]
            if current in seen[1:]:
                break
            if current == start:
                loop = " -> ".join(reversed([*seen, start]))
                i = by_name[start][0]
                raise PlantError(f"devices[{i}] ({start}) battery: the BMS chain loops ({loop})")
            seen.append(current)
    if site.poi_meter is not None:
        if site.poi_meter not in by_name:
            raise PlantError(
                f"site.poi_meter = {site.poi_meter!r}: no such device (the site has {known})"
            )
        role = by_name[site.poi_meter][1].role
        if role != "meter":
            raise PlantError(
                f"site.poi_meter = {site.poi_meter!r}: {site.poi_meter} has role {role!r}, "
                "expected 'meter'"
            )
    return PlantTopology(
        inverters={d.name: _batteries(d) for d in devices if d.role == "inverter"},
        bms=tuple(d.name for d in devices if d.role == "bms"),
        meters=tuple(d.name for d in devices if d.role == "meter"),
        others=tuple(d.name for d in devices if d.role == "other"),
        racks=racks,
        poi_meter=site.poi_meter,
        export_limit_kw=site.export_limit_kw,
        import_limit_kw=site.import_limit_kw,
        ramp_kw_per_s=site.ramp_kw_per_s,
    )


def check_plant_profiles(topology: PlantTopology, profiles: Mapping[str, Profile]) -> None:
    """Each device's profile can play its part; raises PlantError (one line) when one cannot.

    The POI meter must map the grid's active power; an inverter that drives a
    battery must be commandable; a BMS must map what guards its inverter (its
    SoC, and its current or power limits).
    """
    if topology.poi_meter is not None:
        meter = profiles[topology.poi_meter]
        if Role.GRID_POWER_KW.value not in meter.roles_of({}):
            raise PlantError(
                f"site.poi_meter = {topology.poi_meter!r}: its profile {meter.id} maps no "
                "grid_power_kw (a register's role or a sum of the phases)"
            )
    for inverter, batteries in topology.inverters.items():
        if batteries and profiles[inverter].effective_control is None:
            raise PlantError(
                f"{inverter}: drives {', '.join(batteries)} but its profile "
                f"{profiles[inverter].id} has no control section nor a writable setpoint"
            )
    for bms in topology.bms:
        roles = profiles[bms].roles_of({})
        limits = [r for r in (Role.CCL_A, Role.MAX_CHARGE_POWER_KW) if r.value in roles]
        if Role.SOC_PCT.value not in roles or not limits:
            raise PlantError(
                f"{bms}: role bms, but its profile {profiles[bms].id} maps no "
                f"{'soc_pct' if Role.SOC_PCT.value not in roles else 'ccl_a nor max_charge_power_kw'}"
            )
