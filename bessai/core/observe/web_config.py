"""TLS and basic auth for /health and /metrics, from a web configuration file (``HEALTH_WEB_CONFIG``).

The file is the Prometheus exporter-toolkit's format, the one every official
exporter takes (``--web.config.file``), so that a site's Prometheus and its
operators configure the gateway as they configure node_exporter:
``tls_server_config`` (``cert_file``, ``key_file``, ``client_ca_file``,
``client_auth_type``, ``min_version``, ``max_version``) and
``basic_auth_users`` (user: bcrypt hash). It is read once at start; anything
it holds that cannot be used (a missing file, bad YAML, an unknown key, a
certificate that does not match its key, a hash that is not bcrypt) is a
``ConfigError`` naming the file, the key and what was expected. What the
toolkit offers and this server cannot honour (client certificates asked for
but not verified, TLS below 1.2, cipher lists) is refused, not ignored.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import ipaddress
import re
import ssl
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt
import yaml

from bessai.core.config.settings import ConfigError

MAX_WEB_CONFIG_BYTES = 256 * 1024
BCRYPT_HASH = re.compile(r"^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$")
_VERSIONS = {"TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3}
_CLIENT_AUTH = {
    "NoClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
# The toolkit's two client-auth types that take a certificate without verifying it.
_UNVERIFIED = ("RequestClientCert", "RequireAnyClientCert")
_TLS_KEYS = {
    "cert_file",
    "key_file",
    "client_ca_file",
    "client_auth_type",
    "min_version",
    "max_version",
}
# A bcrypt hash that matches no password: unknown users cost as much as known ones.
_DUMMY_HASH = b"$2b$10$Db3MuZ0JOOBJ/z26k7UFJue/K28Y3OF51kEedxmCKWYkgd7lZpwQy"


@dataclass(frozen=True)
class WebConfig:
    """What the HTTP listener needs: a TLS context (or none) and the users it lets in."""

    path: Path
    tls: ssl.SSLContext | None
    users: dict[str, bytes] = field(default_factory=dict)
    client_cert_required: bool = False


def _where(path: Path) -> str:
    return f"HEALTH_WEB_CONFIG {' '.join(repr(str(path))[1:-1].split())}"


def _short(value: Any, limit: int = 60) -> str:
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def load_web_config(path: Path) -> WebConfig:
    """Read and check a web configuration file; raises ConfigError naming file and key."""
    where = _where(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read: {exc.strerror}") from None
    if len(raw) > MAX_WEB_CONFIG_BYTES:
        raise ConfigError(f"{where}: {len(raw)} bytes, more than a web configuration can be")
    try:
        data = yaml.safe_load(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where}: byte {exc.start}: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        raise ConfigError(f"{where}: not valid YAML: {at}{problem}") from None
    except RecursionError:
        raise ConfigError(f"{where}: not valid YAML: nested too deeply") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{where}: expected a mapping with tls_server_config and/or basic_auth_users"
        )
    unknown = sorted(str(k) for k in data if k not in ("tls_server_config", "basic_auth_users"))
    if unknown:
        raise ConfigError(
            f"{where}: key {unknown[0]}: not supported here "
            "(tls_server_config and basic_auth_users are)"
        )
    tls, required = _tls(path, data.get("tls_server_config"))
    users = _users(path, data.get("basic_auth_users"))
    return WebConfig(path, tls, users, required)


def _file(path: Path, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{_where(path)}: key tls_server_config.{key}: expected a file name")
    # Relative names are relative to the web configuration file, as in the toolkit.
    name = Path(value) if Path(value).is_absolute() else path.parent / value
    try:
        name.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"{_where(path)}: key tls_server_config.{key} = {_short(value)}: "
            f"cannot read: {exc.strerror}"
        ) from None
    return str(name)


def _tls(path: Path, section: Any) -> tuple[ssl.SSLContext | None, bool]:
    where = _where(path)
    if section is None:
        return None, False
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: key tls_server_config: expected a mapping")
    for key in section:
        if key not in _TLS_KEYS:
            raise ConfigError(
                f"{where}: key tls_server_config.{key}: not supported here "
                f"(supported: {', '.join(sorted(_TLS_KEYS))})"
            )
    for key in ("cert_file", "key_file"):
        if key not in section:
            raise ConfigError(f"{where}: key tls_server_config.{key}: missing (a PEM file)")
    cert = _file(path, "cert_file", section["cert_file"])
    key = _file(path, "key_file", section["key_file"])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    versions = []
    for name, default in (("min_version", "TLS12"), ("max_version", "TLS13")):
        value = section.get(name, default)
        if value not in _VERSIONS:
            raise ConfigError(
                f"{where}: key tls_server_config.{name} = {_short(value)}: "
                "expected TLS12 or TLS13 (older versions are not offered)"
            )
        versions.append(_VERSIONS[value])
    if versions[0] > versions[1]:
        raise ConfigError(f"{where}: key tls_server_config.min_version: above max_version")
    context.minimum_version, context.maximum_version = versions
    try:
        context.load_cert_chain(cert, key)
    except ssl.SSLError as exc:
        raise ConfigError(
            f"{where}: key tls_server_config.cert_file/key_file: not a usable PEM certificate "
            f"and matching key ({exc.reason or exc})"
        ) from None
    auth = section.get("client_auth_type", "NoClientCert")
    if auth in _UNVERIFIED:
        raise ConfigError(
            f"{where}: key tls_server_config.client_auth_type = {auth}: takes client "
            "certificates without verifying them; use RequireAndVerifyClientCert"
        )
    if auth not in _CLIENT_AUTH:
        raise ConfigError(
            f"{where}: key tls_server_config.client_auth_type = {_short(auth)}: "
            f"expected one of {', '.join(_CLIENT_AUTH)}"
        )
    ca = section.get("client_ca_file")
    if _CLIENT_AUTH[auth] != ssl.CERT_NONE:
        if ca is None:
            raise ConfigError(
                f"{where}: key tls_server_config.client_ca_file: missing; {auth} needs the CA "
                "that signs the clients' certificates"
            )
        try:
            context.load_verify_locations(cafile=_file(path, "client_ca_file", ca))
        except ssl.SSLError as exc:
            raise ConfigError(
                f"{where}: key tls_server_config.client_ca_file: not a PEM CA certificate "
                f"({exc.reason or exc})"
            ) from None
        context.verify_mode = _CLIENT_AUTH[auth]
    elif ca is not None:
        raise ConfigError(
            f"{where}: key tls_server_config.client_ca_file is set but client_auth_type is "
            "NoClientCert: set client_auth_type: RequireAndVerifyClientCert"
        )
    return context, auth == "RequireAndVerifyClientCert"


def _users(path: Path, section: Any) -> dict[str, bytes]:
    where = _where(path)
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: key basic_auth_users: expected user: bcrypt hash pairs")
    users: dict[str, bytes] = {}
    for user, hashed in section.items():
        if not isinstance(user, str) or not user or ":" in user:
            raise ConfigError(
                f"{where}: key basic_auth_users: user {_short(user)}: expected a name without ':'"
            )
        if not isinstance(hashed, str) or not BCRYPT_HASH.match(hashed):
            raise ConfigError(
                f"{where}: key basic_auth_users.{user}: not a bcrypt hash "
                "(expected $2y$10$… as from `htpasswd -nBC 10 \"\" | tr -d ':\\n'`)"
            )
        users[user] = hashed.encode("ascii")
    return users


class BasicAuth:
    """Checks ``Authorization: Basic`` against bcrypt hashes without blocking the loop.

    bcrypt at cost 10 takes ~50 ms: checks run in a thread, at most two at a
    time, and their outcomes are remembered (bounded, keyed by a digest of the
    credentials) so that a scrape every few seconds costs one hash.
    """

    CACHE_SIZE = 256

    def __init__(self, users: dict[str, bytes]) -> None:
        self.users = users
        self._cache: OrderedDict[bytes, bool] = OrderedDict()
        self._slots = asyncio.Semaphore(2)

    async def allows(self, header: str | None) -> bool:
        credentials = _credentials(header)
        if credentials is None:
            return False
        user, password = credentials
        key = hashlib.sha256(user.encode() + b"\0" + password).digest()
        known = self._cache.get(key)
        if known is not None:
            self._cache.move_to_end(key)
            return known
        hashed = self.users.get(user)
        async with self._slots:
            ok = await asyncio.to_thread(bcrypt.checkpw, password, hashed or _DUMMY_HASH)
        ok = ok and hashed is not None
        self._cache[key] = ok
        if len(self._cache) > self.CACHE_SIZE:
            self._cache.popitem(last=False)
        return ok


def _credentials(header: str | None) -> tuple[str, bytes] | None:
    if header is None:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, sep, password = decoded.partition(b":")
    if not sep or len(password) > 72:
        return None  # bcrypt reads 72 bytes; longer would match on a prefix
    try:
        return user.decode("utf-8"), password
    except UnicodeDecodeError:
        return None


def is_loopback(host: str) -> bool:
    """Whether a bind address reaches only this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_problems(host: str, port: int, config: WebConfig | None) -> list[str]:
    """What a listener off loopback lacks, for the log and /health (empty on loopback)."""
    if is_loopback(host):
        return []
    problems = []
    if config is None or config.tls is None:
        problems.append(
            f"http on {host}:{port} without TLS: the site's state is readable in clear on the "
            "network (set HEALTH_WEB_CONFIG)"
        )
    if config is None or not (config.users or config.client_cert_required):
        problems.append(
            f"http on {host}:{port} without credentials: anyone on the network reads /metrics "
            "(basic_auth_users or client certificates in HEALTH_WEB_CONFIG)"
        )
    return problems
