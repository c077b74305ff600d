"""An engineer's changes to the running site: devices and limits, in force, on file, audited.

Every change is validated as the site file is at start (the whole file, every
profile, every device's limits), written with its comments kept (tomlkit),
the previous file kept as a backup, and put in force without a restart. A
change that cannot be written is refused and nothing changes; a device is
removed only after its battery is at zero power in Standby.
"""

from __future__ import annotations

import asyncio
import logging
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from pydantic import ValidationError
from tomlkit.items import AoT, Table
from tomlkit.toml_document import TOMLDocument

from bessai.core.config.endpoint import device_endpoint
from bessai.core.config.settings import (
    ConfigError,
    DeviceConfig,
    SiteFile,
    device_limits,
)
from bessai.core.guard.safety import SafetyLimits
from bessai.core.runtime.files import replace_file
from bessai.core.site.gateway import Gateway
from bessai.core.stores.auth import Permission, Session
from bessai.drivers.device import (
    DeviceError,
    ModbusDevice,
    RegisterRow,
    SerialEndpoint,
)
from bessai.drivers.profile import RegisterType
from bessai.drivers.profile_loader import ProfileError, load_profile

log = logging.getLogger(__name__)


class SiteChangeError(Exception):
    """A change that was refused; the text names what is wrong. Nothing was changed."""


@dataclass
class ConnectionTest:
    """What one poll of a device not yet added read: identity, every register decoded and raw."""

    ok: bool
    detail: str
    identity: dict[str, str] = field(default_factory=dict)
    rows: list[RegisterRow] = field(default_factory=list)
    poll_s: float = 0.0
    endpoint: str = ""
    unit_id: int = 0
    read: int = 0  # registers that answered, of
    registers: int = 0
    detail_es: str = ""  # the detail in Spanish, where it differs


def _device_table(cfg: DeviceConfig) -> Table:
    table = tomlkit.table()
    data = cfg.model_dump(exclude_defaults=True)
    data.setdefault("name", cfg.name)
    data.setdefault("profile", cfg.profile)
    limits = data.pop("limits", None)
    for key in ("name", "profile", *[k for k in data if k not in ("name", "profile")]):
        table[key] = data[key]
    if limits:
        table["limits"] = limits
    return table


class SiteFileEditor:
    """Reads, changes, validates and writes one TOML site file, with a backup."""

    def __init__(self, path: Path, initial: Callable[[], dict[str, Any]]) -> None:
        self.path = path
        self._initial = initial
        self.last_backup: Path | None = None

    def _read(self) -> TOMLDocument:
        if not self.path.exists():
            doc = tomlkit.document()
            doc.add(tomlkit.comment("Site file written by the BESSAI Edge app (devices page)."))
            for key, value in self._initial().items():
                if key == "devices":
                    devices = tomlkit.aot()
                    for table in value:
                        devices.append(table)
                    doc[key] = devices
                else:
                    doc[key] = value
            return doc
        try:
            return tomlkit.parse(self.path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise SiteChangeError(f"site file {self.path}: cannot read: {exc.strerror}") from None
        except Exception as exc:  # tomlkit's parse errors have no common base worth naming
            raise SiteChangeError(f"site file {self.path}: not valid TOML: {exc}") from None

    @staticmethod
    def validate(doc: TOMLDocument, where: str) -> SiteFile:
        """The document as the site file it would be at start; raises SiteChangeError."""
        try:
            site = SiteFile.model_validate(doc.unwrap())
        except ValidationError as exc:
            first = exc.errors()[0]
            if first["type"] == "plant":  # the plant's wiring: its message names device and key
                raise SiteChangeError(f"{where}: {first['msg']}") from None
            loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
            raise SiteChangeError(f"{where}: {loc}: {first['msg']}") from None
        try:
            profiles = {d.name: load_profile(d.profile) for d in site.devices}
            device_limits(site.limits, site.devices, profiles)
        except (ConfigError, ProfileError) as exc:
            raise SiteChangeError(f"{where}: {' '.join(str(exc).split())}") from None
        return site

    def change(self, edit: Callable[[TOMLDocument], None]) -> SiteFile:
        """Apply ``edit``, validate, back up the old file and write the new one atomically."""
        doc = self._read()
        edit(doc)
        site = self.validate(doc, f"site file {self.path}")
        text = tomlkit.dumps(doc)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            backup = None
            mode = 0o600
            if self.path.exists():
                mode = stat.S_IMODE(self.path.stat().st_mode)
                stamp = time.strftime("%Y%m%dT%H%M%S")
                backup = self.path.with_name(f"{self.path.name}.{stamp}.bak")
                backup.write_bytes(self.path.read_bytes())
            replace_file(self.path, text, mode=mode)
        except OSError as exc:
            raise SiteChangeError(
                f"site file {self.path}: cannot write: {exc.strerror} (nothing was changed)"
            ) from None
        self.last_backup = backup
        return site


def _devices(doc: TOMLDocument) -> AoT:
    devices = doc.get("devices")
    if not isinstance(devices, AoT):
        devices = tomlkit.aot()
        doc["devices"] = devices
    return devices


def _index(doc: TOMLDocument, name: str) -> int:
    for i, table in enumerate(_devices(doc)):
        if table.get("name") == name:
            return i
    raise SiteChangeError(f"no device named {name!r} in the site file")


class SiteAdmin:
    """The commissioning engineer's changes to a running gateway and its site file."""

    def __init__(self, gateway: Gateway, site_file: Path) -> None:
        self.gateway = gateway
        self.editor = SiteFileEditor(site_file, self._as_running)

    def _as_running(self) -> dict[str, Any]:
        """The site as the gateway runs it, for a first site file."""
        limits = self.gateway.limits
        data: dict[str, Any] = {
            "site_id": self.gateway.site_id,
            "devices": [_device_table(c) for c in self.gateway.configs],
        }
        explicit = limits.model_dump(include=limits.model_fields_set)
        if explicit:
            data["limits"] = explicit
        return data

    def _allowed(self, session: Session | None) -> Session:
        live = None if session is None else self.gateway.auth.session(session.token)
        if live is None or not live.may(Permission.ENGINEER):
            raise SiteChangeError("an engineer must be logged in to change the site")
        return live

    async def _write(self, edit: Callable[[TOMLDocument], None]) -> SiteFile:
        return await asyncio.to_thread(self.editor.change, edit)

    def _audit(self, user: str, action: str, **detail: Any) -> None:
        backup = self.editor.last_backup
        self.gateway.books.record(
            user,
            action,
            "ok",
            site_file=str(self.editor.path),
            backup=None if backup is None else str(backup),
            **detail,
        )

    async def add_device(self, session: Session | None, cfg: DeviceConfig) -> None:
        user = self._allowed(session).user
        if cfg.name in self.gateway.devices:
            raise SiteChangeError(f"device name {cfg.name!r} is used already")
        await self._write(lambda doc: _devices(doc).append(_device_table(cfg)))
        try:
            await self.gateway.add_device(cfg)
        except (ConfigError, ProfileError) as exc:
            raise SiteChangeError(f"saved, but not started: {exc}") from None
        self._audit(user, "device_add", device=cfg.name, config=cfg.model_dump(mode="json"))

    async def update_device(self, session: Session | None, name: str, cfg: DeviceConfig) -> None:
        """Replace a device's settings: its battery to Standby at zero power, then restarted."""
        user = self._allowed(session).user
        if cfg.name != name and cfg.name in self.gateway.devices:
            raise SiteChangeError(f"device name {cfg.name!r} is used already")

        def edit(doc: TOMLDocument) -> None:
            _devices(doc)[_index(doc, name)] = _device_table(cfg)

        await self._write(edit)
        await self.gateway.remove_device(name)
        await self.gateway.add_device(cfg)
        self._audit(user, "device_update", device=name, config=cfg.model_dump(mode="json"))

    async def remove_device(self, session: Session | None, name: str) -> None:
        user = self._allowed(session).user
        if len(self.gateway.devices) <= 1:
            raise SiteChangeError("a site keeps at least one device")

        def edit(doc: TOMLDocument) -> None:
            del _devices(doc)[_index(doc, name)]

        await self._write(edit)
        await self.gateway.remove_device(name)  # zero power and Standby first
        self._audit(user, "device_remove", device=name)

    def limits_of(self, device: str | None) -> SafetyLimits:
        if device is None:
            return self.gateway.limits
        return self.gateway.device_limits[device]

    async def set_limits(
        self, session: Session | None, device: str | None, changes: dict[str, float]
    ) -> list[str]:
        """Change limits of the site (``device`` None) or of one device; returns the devices
        whose limits changed now. Validated as the site file is; refused as a whole."""
        live = self._allowed(session)
        if device is not None and device not in self.gateway.devices:
            raise SiteChangeError(f"no device named {device!r}")
        try:
            SafetyLimits.model_validate({**self.limits_of(device).model_dump(), **changes})
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"]) or "limits"
            raise SiteChangeError(f"{loc}: {first['msg']}") from None

        def edit(doc: TOMLDocument) -> None:
            if device is None:
                table = doc.setdefault("limits", tomlkit.table())
            else:
                table = _devices(doc)[_index(doc, device)].setdefault("limits", tomlkit.table())
            for key, value in changes.items():
                table[key] = value

        site = await self._write(edit)
        profiles = {name: self.gateway.profiles[name] for name in self.gateway.devices}
        resolved = device_limits(site.limits, site.devices, profiles)
        self.gateway.limits = site.limits
        touched: list[str] = []
        for name, limits in resolved.items():
            controller = self.gateway.controllers.get(name)
            self.gateway.device_limits[name] = limits
            if controller is None or controller.guard.limits == limits:
                continue
            diff = {
                k: v
                for k, v in limits.model_dump().items()
                if getattr(controller.guard.limits, k) != v
            }
            result = await controller.set_limits(live, **diff)
            if not result.ok:
                raise SiteChangeError(f"{name}: {result.message_en}")
            touched.append(name)
        self._audit(live.user, "limits_saved", device=device, changes=changes, in_force=touched)
        return touched

    async def set_maintenance(self, session: Session | None, device: str, on: bool) -> None:
        self._allowed(session)
        controller = self.gateway.controllers.get(device)
        if controller is None:
            raise SiteChangeError(f"{device} is not commanded: no maintenance mode")
        result = await controller.set_maintenance(session, on)
        if not result.ok:
            raise SiteChangeError(result.message_en)


async def check_connection(cfg: DeviceConfig, *, timeout_s: float = 3.0) -> ConnectionTest:
    """Connect to a device that is not (yet) polled, read its identity and one full poll."""
    try:
        profile = load_profile(cfg.profile)
    except ProfileError as exc:
        said = " ".join(str(exc).split())
        return ConnectionTest(False, f"profile: {said}", detail_es=f"perfil: {said}")
    if cfg.serial_port is not None:
        endpoint: Any = SerialEndpoint(
            cfg.serial_port, baudrate=cfg.baudrate, parity=cfg.parity, stopbits=cfg.stopbits
        )
    elif cfg.host is not None:
        endpoint = device_endpoint(cfg, profile)  # TLS too
    else:
        return ConnectionTest(
            False,
            "a simulated device needs no connection test",
            detail_es="un equipo simulado no necesita prueba de conexión",
        )
    device = ModbusDevice(
        f"test-{cfg.name}", profile, endpoint, unit_id=cfg.unit_id, timeout_s=cfg.timeout_s
    )
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout_s + profile.connection.timeout_s * 4):
            if not await device.connect():
                return ConnectionTest(
                    False, f"no connection to {endpoint}", detail_es=f"sin conexión con {endpoint}"
                )
            result = await device.poll()
    except DeviceError as exc:  # connected, then the link failed or nothing answered at all
        said = " ".join(str(exc).split())
        return ConnectionTest(
            False,
            f"no answer from {endpoint}: {said}",
            detail_es=f"sin respuesta de {endpoint}: {said}",
        )
    except TimeoutError:
        return ConnectionTest(
            False,
            f"{endpoint}: no answer within {timeout_s:g} s",
            detail_es=f"{endpoint}: sin respuesta en {timeout_s:g} s",
        )
    finally:
        await device.close()
    identity = {
        r.name: result.texts[r.name]
        for r in profile.registers
        if r.type is RegisterType.STRING and result.texts.get(r.name)
    }
    rows = device.register_table()
    read = sum(1 for v in result.values.values() if v is not None) + len(identity)
    ok = read > 0
    errors = "; ".join(result.errors[:2])
    if ok:
        detail = (
            f"{endpoint} unit {device.unit_id}: {read} of {len(profile.registers)} registers read"
        )
        detail_es = (
            f"{endpoint} unidad {device.unit_id}: {read} de {len(profile.registers)} "
            "registros leídos"
        )
    else:
        detail = f"{endpoint}: connected, but no register could be read ({errors})"
        detail_es = f"{endpoint}: conectado, pero ningún registro se pudo leer ({errors})"
    return ConnectionTest(
        ok,
        detail,
        identity,
        rows,
        time.monotonic() - started,
        str(endpoint),
        device.unit_id,
        read,
        len(profile.registers),
        detail_es,
    )
