"""Device profiles: the JSON description of one device model's Modbus map.

A profile names each register, its table, address, type, scale and unit, and
the semantic role it plays (``soc_pct``, ``setpoint_power_kw`` ...) so that the
core finds the same quantity on any vendor's device. Loading refuses a bad
profile with the file, the JSON path and the reason.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class Table(StrEnum):
    """The four Modbus data tables."""

    HOLDING = "holding"
    INPUT = "input"
    COIL = "coil"
    DISCRETE = "discrete"

    @property
    def is_bit(self) -> bool:
        return self in (Table.COIL, Table.DISCRETE)


class RegisterType(StrEnum):
    """How a register's words encode its value."""

    U16 = "u16"
    I16 = "i16"
    U32 = "u32"
    I32 = "i32"
    U64 = "u64"
    I64 = "i64"
    F32 = "f32"
    F64 = "f64"
    STRING = "string"
    ENUM = "enum"
    BITFIELD = "bitfield"
    BOOL = "bool"


WORDS_PER_TYPE: dict[RegisterType, int] = {
    RegisterType.U16: 1,
    RegisterType.I16: 1,
    RegisterType.U32: 2,
    RegisterType.I32: 2,
    RegisterType.U64: 4,
    RegisterType.I64: 4,
    RegisterType.F32: 2,
    RegisterType.F64: 4,
    RegisterType.ENUM: 1,
    RegisterType.BITFIELD: 1,
    RegisterType.BOOL: 1,
}


class Role(StrEnum):
    """Semantic roles: the quantities the core looks for on every device.

    Values in a role carry the role's unit after scaling; power is positive
    when the battery discharges (exports) and negative when it charges; a
    current is positive discharging too. The grid roles are what a meter at
    the point of connection reads: positive while the site imports.
    """

    SOC_PCT = "soc_pct"
    SOH_PCT = "soh_pct"
    ACTIVE_POWER_KW = "active_power_kw"
    REACTIVE_POWER_KVAR = "reactive_power_kvar"
    BATTERY_TEMP_C = "battery_temp_c"
    PACK_VOLTAGE_V = "pack_voltage_v"
    PACK_CURRENT_A = "pack_current_a"
    SETPOINT_POWER_KW = "setpoint_power_kw"
    RUN_MODE = "run_mode"
    WATCHDOG = "watchdog"
    ALARM_WORD = "alarm_word"
    GRID_POWER_KW = "grid_power_kw"
    PV_POWER_KW = "pv_power_kw"
    GRID_FREQUENCY_HZ = "grid_frequency_hz"
    CAPACITY_KWH = "capacity_kwh"
    RATED_POWER_KW = "rated_power_kw"
    MAX_CHARGE_POWER_KW = "max_charge_power_kw"
    MAX_DISCHARGE_POWER_KW = "max_discharge_power_kw"
    DEVICE_STATE = "device_state"
    # Wrapping counters of the Modbus requests the device answered and the exceptions it
    # returned, to anyone: the intrusion detector subtracts its own to see other masters.
    REQUEST_COUNT = "request_count"
    EXCEPTION_COUNT = "exception_count"
    # A BMS: what its battery allows now (charge and discharge current limits, positive
    # amperes), its cells' extremes, its contactor (1 = closed) and its alarm and warning
    # words (any bit set: the BMS forbids or warns). Power limits are the max_*_power roles.
    CCL_A = "ccl_a"
    DCL_A = "dcl_a"
    CELL_VOLTAGE_MAX_V = "cell_voltage_max_v"
    CELL_VOLTAGE_MIN_V = "cell_voltage_min_v"
    CELL_TEMP_MAX_C = "cell_temp_max_c"
    CELL_TEMP_MIN_C = "cell_temp_min_c"
    CONTACTOR_CLOSED = "contactor_closed"
    BMS_ALARM_WORD = "bms_alarm_word"
    BMS_WARNING_WORD = "bms_warning_word"
    # A meter: per phase beside the totals (grid_power_kw, grid_frequency_hz), voltages
    # line to neutral.
    GRID_POWER_L1_KW = "grid_power_l1_kw"
    GRID_POWER_L2_KW = "grid_power_l2_kw"
    GRID_POWER_L3_KW = "grid_power_l3_kw"
    GRID_REACTIVE_POWER_KVAR = "grid_reactive_power_kvar"
    GRID_REACTIVE_POWER_L1_KVAR = "grid_reactive_power_l1_kvar"
    GRID_REACTIVE_POWER_L2_KVAR = "grid_reactive_power_l2_kvar"
    GRID_REACTIVE_POWER_L3_KVAR = "grid_reactive_power_l3_kvar"
    GRID_VOLTAGE_L1_V = "grid_voltage_l1_v"
    GRID_VOLTAGE_L2_V = "grid_voltage_l2_v"
    GRID_VOLTAGE_L3_V = "grid_voltage_l3_v"
    # An inverter's reactive-power setpoint (positive = over-excited, delivering vars).
    SETPOINT_REACTIVE_POWER_KVAR = "setpoint_reactive_power_kvar"


# A total and the roles of its phases: a profile that maps the phases names the total too
# (a register's role, or a sum of the phases).
PHASES_OF: dict[Role, tuple[Role, Role, Role]] = {
    Role.GRID_POWER_KW: (Role.GRID_POWER_L1_KW, Role.GRID_POWER_L2_KW, Role.GRID_POWER_L3_KW),
    Role.GRID_REACTIVE_POWER_KVAR: (
        Role.GRID_REACTIVE_POWER_L1_KVAR,
        Role.GRID_REACTIVE_POWER_L2_KVAR,
        Role.GRID_REACTIVE_POWER_L3_KVAR,
    ),
}
# Roles a device is commanded through: their register must be writable.
WRITABLE_ROLES = frozenset({Role.SETPOINT_REACTIVE_POWER_KVAR})


class Access(StrEnum):
    RO = "ro"
    RW = "rw"


class ProfileModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Register(ProfileModel):
    """One named value in the device's Modbus map."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
    table: Table
    address: Annotated[int, Field(ge=0, le=65535)]
    type: RegisterType
    count: Annotated[int | None, Field(ge=1, le=125)] = Field(
        default=None,
        description="Words occupied; required for strings, implied by the type otherwise.",
    )
    scale: float = 1.0
    scale_factor: str | None = Field(
        default=None,
        description=(
            "Name of the register holding this one's power-of-ten exponent, read live with it "
            "(SunSpec's *_SF): value = raw * scale * 10**sf + offset. An exponent that is not "
            "implemented (0x8000) or outside -10..10 makes the value missing."
        ),
    )
    offset: float = 0.0
    unit: str = ""
    access: Access = Access.RO
    min: float | None = Field(default=None, description="Lowest writable value (scaled).")
    max: float | None = Field(default=None, description="Highest writable value (scaled).")
    role: Role | None = None
    description: str = ""
    not_available: list[int] = Field(
        default_factory=list,
        description="Raw values the device sends for 'no data' (e.g. 32767, 65535).",
    )
    enum: dict[str, str] | None = Field(
        default=None, description="Raw value (decimal string) to state name."
    )
    bits: dict[str, str] | None = Field(
        default=None, description="Bit number (decimal string) to flag name."
    )
    verified: bool = Field(
        default=True,
        description=(
            "True only where the vendor document and an independent implementation agree on "
            "address, type, sign and scale."
        ),
    )
    verified_by: str = Field(
        default="",
        description=(
            "The commissioning report that measured this register on the site (its sign and "
            "scale): set in the site's view of the profile from DATA_DIR, never in a file."
        ),
    )
    note: str = Field(default="", description="What stays unconfirmed, or a vendor caveat.")
    unit_id: Annotated[int | None, Field(ge=0, le=255)] = Field(
        default=None,
        description="Unit id when it is not the connection's (a gateway that serves several).",
    )

    @property
    def words(self) -> int:
        """Number of 16-bit words (or bits, for coil tables) the register occupies."""
        if self.count is not None:
            return self.count
        if self.table.is_bit:
            return 1
        return WORDS_PER_TYPE.get(self.type, 1)

    @property
    def end(self) -> int:
        """One past the last address the register occupies."""
        return self.address + self.words

    @property
    def writable(self) -> bool:
        return self.access is Access.RW


class Connection(ProfileModel):
    """How to talk to the device: framing, ordering and request limits."""

    byte_order: Literal["big", "little"] = "big"
    word_order: Literal["big", "little"] = "big"
    unit_id: Annotated[int, Field(ge=0, le=255)] = 1
    port: Annotated[int, Field(ge=1, le=65535)] = 502
    timeout_s: Annotated[float, Field(gt=0, le=60)] = 1.0
    max_registers_per_request: Annotated[int, Field(ge=1, le=125)] = 125
    max_bits_per_request: Annotated[int, Field(ge=1, le=2000)] = 2000
    max_gap: Annotated[int, Field(ge=0, le=124)] = 8
    watchdog_timeout_s: Annotated[float | None, Field(gt=0)] = None
    connect_delay_s: Annotated[float, Field(ge=0, le=10)] = Field(
        default=0.0, description="Wait this long after connecting before the first request."
    )


class Write(ProfileModel):
    """One register write of a control sequence."""

    name: str
    value: float


class Direction(ProfileModel):
    """A register that says whether the battery charges, discharges or idles."""

    name: str
    charge: int
    discharge: int
    idle: int


class ControlMethod(StrEnum):
    SIGNED = "signed"
    DIRECTION_MAGNITUDE = "direction_magnitude"
    PERCENT = "percent"
    WINDOW = "window"


class Control(ProfileModel):
    """How a signed setpoint (kW, + = discharge) becomes the device's writes.

    ``signed``: one register takes the signed power (a negative scale flips a
    vendor's charge-positive sign). ``direction_magnitude``: a direction register
    plus unsigned power registers per direction (one register may serve both).
    ``percent``: one signed register in percent of ``rated_power_kw``. ``window``:
    a charge limit and a discharge limit, both in percent of ``rated_power_kw``
    and negative to force the other way (SunSpec model 124's InWRte/OutWRte),
    so that the window collapsed to one point is the setpoint. ``enter``
    runs before the first non-zero write, ``leave`` after the zero write on any
    return to Standby. A device that forgets a setpoint not rewritten within
    ``timeout_s`` gets it rewritten every third of that.
    """

    method: ControlMethod
    setpoint: str | None = None
    direction: Direction | None = None
    charge_power: str | None = None
    discharge_power: str | None = None
    rated_power_kw: Annotated[float | None, Field(gt=0)] = None
    rated_power: str | None = Field(
        default=None,
        description=(
            "Register holding the live 100 % of a percent or window control (SunSpec model "
            "124's WChaMax), read before each write; rated_power_kw stays the nominal figure."
        ),
    )
    enter: list[Write] = Field(default_factory=list)
    leave: list[Write] = Field(default_factory=list)
    timeout_s: Annotated[float | None, Field(gt=0, le=3600)] = Field(
        default=None, description="The device drops a setpoint not rewritten within this long."
    )
    fallback: str = Field(
        default="", description="What the device does on leave or when not refreshed."
    )

    @property
    def refresh_s(self) -> float | None:
        return None if self.timeout_s is None else self.timeout_s / 3.0

    def register_names(self) -> list[str]:
        """Every register the control section writes."""
        names = [self.setpoint, self.charge_power, self.discharge_power]
        if self.direction is not None:
            names.append(self.direction.name)
        names += [w.name for w in (*self.enter, *self.leave)]
        return list(dict.fromkeys(n for n in names if n is not None))


class Sum(ProfileModel):
    """A role the device splits over several registers (three phases), added up."""

    role: Role
    registers: list[str] = Field(min_length=2)


class Ratings(ProfileModel):
    """What the device's battery can do, from its datasheet: the guard's defaults and bounds.

    A site's voltage window must overlap the rated range; with no window set
    for the device, the rated range is the window.
    """

    pack_voltage_min_v: Annotated[float, Field(gt=0)]
    pack_voltage_max_v: Annotated[float, Field(gt=0)]
    source: str = Field(description="The datasheet the ratings come from.")


class Profile(ProfileModel):
    """A device model's Modbus map and its provenance."""

    schema_: str | None = Field(default=None, alias="$schema")
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$")]
    manufacturer: str
    model: str
    source: str = Field(
        description="The vendor document (title, issue, date) the addresses come from."
    )
    sources: list[str] = Field(
        default_factory=list,
        description="Independent implementations that corroborate the map (name and version).",
    )
    protocol: list[Literal["tcp", "rtu"]] = Field(default_factory=lambda: ["tcp"])  # type: ignore[arg-type]
    description: str = ""
    connection: Connection = Connection()
    ratings: Ratings | None = None
    control: Control | None = None
    sums: list[Sum] = Field(default_factory=list)
    registers: list[Register]
    warnings: list[str] = Field(
        default_factory=list,
        description="What its maker (discovery) could not confirm: shown by `bessai profile check`.",
    )

    @property
    def effective_control(self) -> Control | None:
        """The control section, or a signed one on the setpoint role's register."""
        if self.control is not None:
            return self.control
        reg = self.by_role(Role.SETPOINT_POWER_KW)
        if reg is None or not reg.writable:
            return None
        return Control(method=ControlMethod.SIGNED, setpoint=reg.name)

    def roles_of(self, values: dict[str, float | None]) -> dict[str, float | None]:
        """Role values from decoded register values, sums added (missing if a part is)."""
        roles = {r.role.value: values.get(r.name) for r in self.registers if r.role is not None}
        for total in self.sums:
            parts = [values.get(name) for name in total.registers]
            roles[total.role.value] = (
                None if any(p is None for p in parts) else sum(p for p in parts if p is not None)
            )
        return roles

    def by_name(self, name: str) -> Register:
        for reg in self.registers:
            if reg.name == name:
                return reg
        raise KeyError(name)

    def by_role(self, role: Role) -> Register | None:
        for reg in self.registers:
            if reg.role is role:
                return reg
        return None


def control_range_kw(profile: Profile, control: Control) -> tuple[float, float]:
    """The most charging (negative) and discharging power the control section can command."""
    rated = control.rated_power_kw or 100.0

    def kw(value: float | None) -> float:
        value = value or 0.0
        if control.method in (ControlMethod.PERCENT, ControlMethod.WINDOW):
            return value * rated / 100.0
        return value

    if control.method in (ControlMethod.DIRECTION_MAGNITUDE, ControlMethod.WINDOW):
        charge = profile.by_name(control.charge_power or "")
        discharge = profile.by_name(control.discharge_power or "")
        return -kw(charge.max), kw(discharge.max)
    setpoint = profile.by_name(control.setpoint or "")
    return kw(setpoint.min), kw(setpoint.max)
