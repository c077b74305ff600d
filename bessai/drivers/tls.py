"""Modbus/TCP Security (TLS, port 802): the client's certificate files and its TLS context.

The context is built from the files at every connect, so that a rotated
certificate or CA is taken up at the next reconnection without a restart.
The server's certificate is always checked against the site's CA and its
name (or IP address) against the one the device is reached at. Every failure
is one line naming the file or the peer and the reason.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

MODBUS_TLS_PORT = 802


class TlsSetupError(Exception):
    """A certificate, key or CA file that cannot be used (missing, unreadable, not PEM, mismatched)."""


@dataclass(frozen=True)
class TlsFiles:
    """PEM files of one device's TLS link: the CA that signs the device, our certificate and key.

    ``server_name`` is the name the device's certificate must carry when it is
    not the host or address the device is reached at.
    """

    ca: str
    cert: str | None = None
    key: str | None = None
    server_name: str | None = None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return " ".join(str(getattr(exc, "reason", None) or exc).split()) or type(exc).__name__


def client_context(files: TlsFiles) -> ssl.SSLContext:
    """A TLS 1.2+ client context that verifies the server against ``files.ca``; raises TlsSetupError."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED and check_hostname
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_verify_locations(cafile=files.ca)
    except (OSError, ssl.SSLError) as exc:
        raise TlsSetupError(f"tls ca {files.ca}: cannot load: {_reason(exc)}") from None
    if files.cert is not None:
        try:
            ctx.load_cert_chain(files.cert, files.key)
        except (OSError, ssl.SSLError) as exc:
            raise TlsSetupError(
                f"tls cert {files.cert} / key {files.key or files.cert}: cannot load: {_reason(exc)}"
            ) from None
    return ctx


def describe_handshake_error(exc: BaseException, where: str, files: TlsFiles) -> str:
    """One line for a failed TLS handshake: an unverified server says why and against which CA."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        why = exc.verify_message or _reason(exc)
        return f"{where}: server certificate refused: {why} (checked against CA {files.ca})"
    return f"{where}: TLS handshake failed: {_reason(exc)}"
