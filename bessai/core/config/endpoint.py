"""Where a configured device is reached: its serial line, or its host over Modbus/TCP (with TLS).

Modbus/TCP Security listens on port 802, so a device with ``tls`` and no
``port`` is reached there; without ``tls`` the profile's port applies.
"""

from __future__ import annotations

from bessai.core.config.settings import DeviceConfig
from bessai.drivers.device import Endpoint, SerialEndpoint, TcpEndpoint
from bessai.drivers.profile import Profile
from bessai.drivers.tls import MODBUS_TLS_PORT


def device_endpoint(cfg: DeviceConfig, profile: Profile) -> Endpoint:
    """The endpoint of a device that is not simulated (its config names a host or a serial port)."""
    if cfg.serial_port is not None:
        return SerialEndpoint(
            cfg.serial_port, baudrate=cfg.baudrate, parity=cfg.parity, stopbits=cfg.stopbits
        )
    if cfg.host is None:
        raise ValueError(f"{cfg.name}: neither a host nor a serial port to reach it at")
    if cfg.tls is not None:
        return TcpEndpoint(cfg.host, cfg.port or MODBUS_TLS_PORT, tls=cfg.tls.files())
    return TcpEndpoint(cfg.host, cfg.port or profile.connection.port)
