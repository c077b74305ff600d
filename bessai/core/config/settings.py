"""Gateway configuration: environment variables and ``.env`` (pydantic-settings), plus a site file.

The environment names are those of the original gateway (``SITE_ID``,
``INVERTER_IP`` ...). A site with several devices (inverter, BMS, meter)
describes them in a TOML site file named by ``SITE_FILE``. With neither an
inverter address nor a site file, the gateway runs the built-in simulator:
the embedded default. Every invalid value becomes a ``ConfigError`` that
names the variable (or file and key), the value and what was expected.

Over 500 lines on purpose: every variable and every site-file key with its check and its one-line error, in one place an installer reads.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bessai.core.config.plant import PlantError, PlantTopology, SiteSettings, plant_topology
from bessai.core.config.scada import ScadaSettings
from bessai.core.dispatch.profiles import TYPICAL_MARGINAL_COST_USD_MWH
from bessai.core.guard.safety import SafetyLimits
from bessai.drivers.profile import Profile
from bessai.drivers.tls import TlsFiles, TlsSetupError, client_context

log = logging.getLogger(__name__)

SIMULATOR_PROFILE = "sim_bess"
# Profile paths of the original gateway and the shipped profiles that stand for them.
LEGACY_PROFILES = {
    "registry/huawei_sun2000.json": "huawei_sun2000_luna2000",
    "registry/sma_sunny_island.json": "sma_sunny_island",
    "registry/victron_gx.json": "victron_gx_system",
    "registry/solaredge_storedge.json": "solaredge_storedge",
    "registry/sungrow_sh_rt.json": "sungrow_sh_rt",
}
MAX_SITE_FILE_BYTES = 1024 * 1024
SITE_ID_PATTERN = r"^[A-Za-z0-9_.\-]+$"

_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*$"
)


class ConfigError(ValueError):
    """A setting that cannot be used: where it came from, its value and what is expected."""


def _check_host(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        if not _HOSTNAME.match(value):
            raise ValueError("expected an IPv4/IPv6 address or a hostname") from None
        if all(label.isdigit() for label in value.split(".")):
            # 999.1.1.1 is not a host name: numeric labels only make an IPv4 address.
            raise ValueError("not a valid IPv4 address (each part 0..255)") from None
    return value


class DeviceTls(BaseModel):
    """Modbus/TCP Security for one device (``tls = { ca = …, cert = …, key = … }``): PEM files.

    Checked when the site file is read; read again at every connect, so that a
    rotated certificate is taken up without a restart.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    ca: Annotated[str, Field(min_length=1)] = Field(
        description="The CA the device's certificate must be signed by"
    )
    cert: Annotated[str | None, Field(min_length=1)] = Field(
        default=None, description="The gateway's own certificate (its role, for the device)"
    )
    key: Annotated[str | None, Field(min_length=1)] = Field(
        default=None, description="The private key of 'cert'"
    )
    server_name: Annotated[str | None, Field(min_length=1, max_length=253)] = Field(
        default=None, description="The name in the device's certificate, when not its host"
    )

    @model_validator(mode="after")
    def _usable(self) -> DeviceTls:
        if (self.cert is None) != (self.key is None):
            raise ValueError(
                "give both 'cert' and 'key' (certificate and its private key), or neither"
            )
        try:
            client_context(self.files())
        except TlsSetupError as exc:
            raise ValueError(str(exc)) from None
        return self

    def files(self) -> TlsFiles:
        return TlsFiles(self.ca, self.cert, self.key, self.server_name)


class DeviceConfig(BaseModel):
    """One Modbus device of the site."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_\-]*$", max_length=40)]
    profile: str = Field(
        description="Registry id (e.g. 'huawei_sun2000_luna2000') or a JSON file path"
    )
    host: str | None = None
    port: Annotated[int | None, Field(ge=1, le=65535)] = None
    serial_port: str | None = None
    baudrate: Annotated[int, Field(ge=1200, le=921600)] = 19200
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    unit_id: Annotated[int | None, Field(ge=0, le=255)] = None
    poll_interval_s: Annotated[float, Field(ge=0.01, le=3600)] = 1.0
    timeout_s: Annotated[float | None, Field(gt=0, le=60)] = None
    role: Literal["inverter", "bms", "meter", "other"] = "inverter"
    battery: (
        Annotated[str, Field(min_length=1)]
        | Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
        | None
    ) = Field(
        default=None,
        description="The BMS (role bms) of the battery this inverter drives, or a list of racks",
    )
    simulated: bool = Field(default=False, description="Served by the built-in simulator")
    tls: DeviceTls | None = Field(
        default=None, description="Modbus/TCP Security (TLS, port 802 unless 'port' says)"
    )
    limits: dict[str, Any] = Field(
        default_factory=dict,
        description="This device's limits over the site's [limits] (e.g. a 48 V pack's voltage window)",
    )

    @field_validator("host")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        return None if value is None else _check_host(value)

    @model_validator(mode="after")
    def _one_link(self) -> DeviceConfig:
        if not self.simulated and (self.host is None) == (self.serial_port is None):
            raise ValueError(
                "give exactly one of 'host' (Modbus TCP) or 'serial_port' (Modbus RTU)"
            )
        if self.tls is not None and (self.simulated or self.host is None):
            raise ValueError("'tls' is for a device reached at a 'host' (Modbus/TCP Security)")
        return self


class FrequencySettings(BaseModel):
    """Primary frequency response (``[dispatch.frequency]``), used when ``mode = "frequency"``."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    nominal_hz: Annotated[float, Field(ge=45, le=65)] = 50.0
    deadband_hz: Annotated[float, Field(ge=0, le=1)] = 0.1
    droop_pct: Annotated[float, Field(gt=0, le=20)] = 4.0
    max_response_kw: Annotated[float | None, Field(gt=0)] = None
    ramp_kw_per_s: Annotated[float, Field(gt=0)] = 20.0
    max_age_s: Annotated[float, Field(gt=0, le=60)] = 2.0
    rated_kw: Annotated[float | None, Field(gt=0)] = Field(
        default=None,
        description="The power the droop is a percentage of; default the device's rating",
    )


class DispatchSettings(BaseModel):
    """Who proposes in Auto, the model to load, and the site's prices (``[dispatch]`` in the site file).

    ``mode``: ``model`` (the ONNX model drives Auto, the rules stand in when it
    cannot), ``shadow`` (the rules drive Auto; the model proposes beside them
    and is only recorded), ``rules``, or ``frequency`` (Auto is primary
    frequency response by a droop, ``[dispatch.frequency]``).
    """

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    mode: Literal["model", "shadow", "rules", "frequency"] = "model"
    model_path: Annotated[Path | None, Field(strict=False)] = Field(
        default=None, description="None: the shipped model"
    )
    marginal_cost_usd_mwh: Annotated[
        list[Annotated[float, Field(ge=-500, le=5000)]], Field(min_length=24, max_length=24)
    ] = Field(default_factory=lambda: list(TYPICAL_MARGINAL_COST_USD_MWH))
    timezone: str = "America/Santiago"
    peak_import_kw: Annotated[float | None, Field(gt=0)] = None
    frequency: FrequencySettings = Field(default_factory=FrequencySettings)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (IANA name, e.g. 'America/Santiago')"
            ) from None
        return value


class IdsSettings(BaseModel):
    """Intrusion detection (``[ids]`` in the site file)."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    baseline_s: Annotated[float, Field(ge=10, le=7 * 86400)] = Field(
        default=600.0, description="Seconds of traffic learnt before scoring starts"
    )
    enabled: bool = Field(
        default=True,
        description="False turns detection off: no score, no alarm, no intrusion lockout",
    )


class SiteFile(BaseModel):
    """The TOML site file: the site id and its devices."""

    model_config = ConfigDict(extra="forbid", strict=True)

    site_id: Annotated[str | None, Field(min_length=1, max_length=64, pattern=SITE_ID_PATTERN)] = (
        None
    )
    devices: Annotated[list[DeviceConfig], Field(min_length=1)]
    limits: SafetyLimits = Field(default_factory=SafetyLimits)
    dispatch: DispatchSettings = Field(default_factory=DispatchSettings)
    ids: IdsSettings = Field(default_factory=IdsSettings)
    site: SiteSettings = Field(default_factory=SiteSettings)
    scada: ScadaSettings | None = None

    @model_validator(mode="after")
    def _unique_names(self) -> SiteFile:
        seen: dict[str, int] = {}
        for i, dev in enumerate(self.devices):
            if dev.name in seen:
                raise PydanticCustomError(
                    "plant",
                    f"devices[{i}].name = {dev.name!r}: device name {dev.name!r} is used twice "
                    f"(first devices[{seen[dev.name]}])",
                )
            seen[dev.name] = i
        try:
            plant_topology(self.devices, self.site)
        except PlantError as exc:
            raise PydanticCustomError("plant", str(exc)) from None
        return self

    @property
    def plant(self) -> PlantTopology:
        """How the devices make one plant (checked when the file was validated)."""
        return plant_topology(self.devices, self.site)


class Settings(BaseSettings):
    """Settings from the environment and ``.env``; names as in the original gateway."""

    model_config = SettingsConfigDict(
        # The original gateway's quick start copies config/.env; a .env here wins over it.
        env_file=("config/.env", ".env"),
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=True,
    )

    SITE_ID: Annotated[str, Field(min_length=1, max_length=64, pattern=SITE_ID_PATTERN)] = (
        "site-sim"
    )
    INVERTER_IP: str | None = None
    INVERTER_PORT: Annotated[int, Field(ge=1, le=65535)] = 502
    INVERTER_UNIT_ID: Annotated[int | None, Field(ge=0, le=255)] = None
    HEALTH_PORT: Annotated[int, Field(ge=0, le=65535)] = 8000
    HEALTH_BIND: str = "127.0.0.1"
    DRIVER_PROFILE_PATH: str = SIMULATOR_PROFILE
    WATCHDOG_TIMEOUT: Annotated[float, Field(gt=0, le=3600)] = 5.0
    POLL_INTERVAL_S: Annotated[float, Field(ge=0.01, le=3600)] = 1.0
    GCP_PROJECT_ID: str | None = None
    GCP_PUBSUB_TOPIC: str | None = None
    GCP_PUBSUB_EVENTS_TOPIC: str | None = None
    GCP_FLEET_SUBSCRIPTION: str | None = None
    OUTBOX_MAX_ROWS: Annotated[int, Field(ge=1000)] = 1_000_000
    OUTBOX_MAX_MB: Annotated[float, Field(gt=0)] = 512.0
    HISTORY_RAW_DAYS: Annotated[float, Field(gt=0, le=365)] = 7.0
    HISTORY_MAX_MB: Annotated[float, Field(gt=0)] = 1024.0
    OTEL_EXPORTER_OTLP_ENDPOINT: str | None = None
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    SITE_FILE: Path | None = None
    DISPATCH_MODE: Literal["model", "shadow", "rules", "frequency"] | None = None
    DISPATCH_MODEL_PATH: Path | None = None
    IDS_BASELINE_S: Annotated[float | None, Field(ge=10, le=7 * 86400, allow_inf_nan=False)] = None
    IDS_ENABLED: bool | None = None
    DATA_DIR: Path = Path("data")
    HEALTH_WEB_CONFIG: Path | None = Field(
        default=None, description="TLS and basic auth for /health and /metrics (exporter-toolkit)"
    )
    PROFILE_DIR: Path | None = Field(
        default=None,
        description="Where a site's own profiles are trusted from; default the site file's folder",
    )
    SYSTEM_USE_NOTICE: Annotated[str | None, Field(min_length=1, max_length=2000)] = Field(
        default=None, description="Shown before every login (SR 1.12); default the shipped text"
    )

    @field_validator(
        "HEALTH_WEB_CONFIG",
        "PROFILE_DIR",
        "SYSTEM_USE_NOTICE",
        "SITE_ID",
        "INVERTER_IP",
        "HEALTH_BIND",
        "DRIVER_PROFILE_PATH",
        "SITE_FILE",
        "DATA_DIR",
        "DISPATCH_MODEL_PATH",
        mode="before",
    )
    @classmethod
    def _not_empty(cls, value: Any) -> Any:
        # Empty means missing: an empty INVERTER_IP must not silently run the simulator.
        if isinstance(value, str) and not value.strip():
            raise ValueError("is set but empty: give a value, or unset the variable")
        return value

    @field_validator("DRIVER_PROFILE_PATH")
    @classmethod
    def _legacy_profile(cls, value: str) -> str:
        """The original gateway's profile paths name the shipped profiles that replace them."""
        shipped = LEGACY_PROFILES.get(value.replace("\\", "/").removeprefix("./"))
        if shipped is not None and not Path(value).exists():
            log.warning(
                "DRIVER_PROFILE_PATH %s is the original gateway's; using the shipped profile %s",
                value,
                shipped,
            )
            return shipped
        return value

    @field_validator("INVERTER_IP", "HEALTH_BIND")
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        return None if value is None else _check_host(value)

    @field_validator("LOG_LEVEL", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator(
        "GCP_PROJECT_ID",
        "GCP_PUBSUB_TOPIC",
        "GCP_PUBSUB_EVENTS_TOPIC",
        "GCP_FLEET_SUBSCRIPTION",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @property
    def embedded_simulator(self) -> bool:
        """No device is configured: run the built-in simulator in-process."""
        return self.INVERTER_IP is None and self.SITE_FILE is None


def _describe(exc: ValidationError, where: str) -> str:
    """One line: where (variable, or file and key), the value, and what was expected."""
    first = exc.errors()[0]
    if first["type"] == "plant":
        # The plant's wiring: the message names the device and key itself.
        return " ".join(f"{where.removesuffix('key ')}{first['msg']}".split())
    loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
    value = first.get("input")
    shown = "" if isinstance(value, dict | list) else f" = {_short(repr(value))}"
    return " ".join(f"{where}{loc}{shown}: {first['msg']}".split())


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment (and ``.env``); raises ConfigError."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, "environment variable ")) from None
    own = app_site_file(settings)
    try:
        saved = settings.SITE_FILE is None and settings.INVERTER_IP is None and own.is_file()
    except OSError:
        saved = False  # an unusable DATA_DIR: the start's own checks name it
    if saved:
        # The site the app's devices page saved (no SITE_FILE given): what runs now.
        settings = settings.model_copy(update={"SITE_FILE": own})
    return settings


def profile_dir(settings: Settings) -> Path:
    """Where the site's own profiles are trusted from: ``PROFILE_DIR``, else the site
    file's folder, else the working directory."""
    if settings.PROFILE_DIR is not None:
        return settings.PROFILE_DIR
    if settings.SITE_FILE is not None:
        return settings.SITE_FILE.parent
    return Path.cwd()


def app_site_file(settings: Settings) -> Path:
    """Where the app saves the site when no SITE_FILE names one."""
    return settings.DATA_DIR / "site.toml"


def load_site_file(path: Path) -> SiteFile:
    """Parse and validate a TOML site file; raises ConfigError naming file and key."""
    shown = " ".join(repr(str(path))[1:-1].split())
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"site file {shown}: cannot read: {exc.strerror}") from None
    if len(raw) > MAX_SITE_FILE_BYTES:
        raise ConfigError(f"site file {shown}: {len(raw)} bytes, more than a site file can be")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"site file {shown}: byte {exc.start}: not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"site file {shown}: not valid TOML: {' '.join(str(exc).split())}"
        ) from None
    except RecursionError:
        raise ConfigError(f"site file {shown}: not valid TOML: nested too deeply") from None
    try:
        return SiteFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, f"site file {shown}: key ")) from None


def device_limits(
    site_limits: SafetyLimits, devices: list[DeviceConfig], profiles: dict[str, Profile]
) -> dict[str, SafetyLimits]:
    """Each device's limits: its profile's rated voltage window, then the site's, then its own.

    Only limits written in the site file override; a voltage window that does
    not overlap what the device's battery is rated for is an error, as is any
    inconsistent or non-finite set. Raises ConfigError naming the device.
    """
    explicit = site_limits.model_dump(include=site_limits.model_fields_set)
    resolved: dict[str, SafetyLimits] = {}
    for i, dev in enumerate(devices):
        profile = profiles[dev.name]
        where = f"devices[{i}] ({dev.name}, profile {profile.id})"
        rated = profile.ratings
        base: dict[str, Any] = {}
        if rated is not None:
            base = {
                "pack_voltage_min_v": rated.pack_voltage_min_v,
                "pack_voltage_max_v": rated.pack_voltage_max_v,
            }
        try:
            limits = SafetyLimits.model_validate({**base, **explicit, **dev.limits})
        except ValidationError as exc:
            raise ConfigError(_describe(exc, f"{where}: limits ")) from None
        if rated is not None and (
            limits.pack_voltage_max_v < rated.pack_voltage_min_v
            or limits.pack_voltage_min_v > rated.pack_voltage_max_v
        ):
            raise ConfigError(
                f"{where}: pack voltage window {limits.pack_voltage_min_v:g}..{limits.pack_voltage_max_v:g} V "
                f"is outside what the battery is rated for ({rated.pack_voltage_min_v:g}.."
                f"{rated.pack_voltage_max_v:g} V, {rated.source}): a permanent trip; set "
                f"pack_voltage_min_v/pack_voltage_max_v in this device's [devices.limits]"
            )
        resolved[dev.name] = limits
    return resolved


def site_devices(settings: Settings) -> tuple[str, list[DeviceConfig]]:
    """The site id and its devices, from the site file, the single-inverter variables or the simulator."""
    site_id, devices, _, _ = site_config(settings)
    return site_id, devices


def ids_baseline_s(settings: Settings) -> float:
    """Seconds of traffic the intrusion detector learns: ``IDS_BASELINE_S``, else ``[ids]``."""
    if settings.IDS_BASELINE_S is not None:
        return settings.IDS_BASELINE_S
    if settings.SITE_FILE is not None:
        return load_site_file(settings.SITE_FILE).ids.baseline_s
    return IdsSettings().baseline_s


def ids_enabled(settings: Settings) -> bool:
    """Whether intrusion detection runs: ``IDS_ENABLED``, else ``[ids] enabled``."""
    if settings.IDS_ENABLED is not None:
        return settings.IDS_ENABLED
    if settings.SITE_FILE is not None:
        return load_site_file(settings.SITE_FILE).ids.enabled
    return True


def site_config(
    settings: Settings,
) -> tuple[str, list[DeviceConfig], SafetyLimits, DispatchSettings]:
    """The site id, its devices, its safety limits and its dispatch settings.

    ``DISPATCH_MODE`` and ``DISPATCH_MODEL_PATH`` override the site file's ``[dispatch]``.
    """
    if settings.SITE_FILE is not None:
        site = load_site_file(settings.SITE_FILE)
        site_id, devices, limits, dispatch = (
            site.site_id or settings.SITE_ID,
            site.devices,
            site.limits,
            site.dispatch,
        )
    else:
        (site_id, devices), limits, dispatch = (
            _single_device(settings),
            SafetyLimits(),
            DispatchSettings(),
        )
    overrides = {
        k: v
        for k, v in (("mode", settings.DISPATCH_MODE), ("model_path", settings.DISPATCH_MODEL_PATH))
        if v is not None
    }
    return site_id, devices, limits, dispatch.model_copy(update=overrides)


def site_plant(settings: Settings) -> PlantTopology:
    """The site's plant: from the site file, else one inverter (the variables' or the simulator)."""
    if settings.SITE_FILE is not None:
        return load_site_file(settings.SITE_FILE).plant
    _, devices = _single_device(settings)
    return plant_topology(devices, SiteSettings())


def _single_device(settings: Settings) -> tuple[str, list[DeviceConfig]]:
    if settings.INVERTER_IP is not None:
        dev = DeviceConfig(
            name="inverter",
            profile=settings.DRIVER_PROFILE_PATH,
            host=settings.INVERTER_IP,
            port=settings.INVERTER_PORT,
            unit_id=settings.INVERTER_UNIT_ID,
            poll_interval_s=settings.POLL_INTERVAL_S,
        )
        return settings.SITE_ID, [dev]
    dev = DeviceConfig(
        name="bess-sim",
        profile=SIMULATOR_PROFILE,
        simulated=True,
        poll_interval_s=settings.POLL_INTERVAL_S,
    )
    return settings.SITE_ID, [dev]
