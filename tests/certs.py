"""Certificates for the HTTP listener's tests: ``tests.tls_certs``' CA under the names those
tests use (a CA file ``ca.crt``, ``path`` for it, server certificates by default)."""

from __future__ import annotations

from pathlib import Path

from tests.tls_certs import Issued as Pair
from tests.tls_certs import Pki

__all__ = ["CertAuthority", "Pair"]


class CertAuthority(Pki):
    """A throwaway certificate authority under ``folder``."""

    def __init__(self, folder: Path, name: str = "bessai test CA") -> None:
        super().__init__(folder, name, ca_file="ca.crt", cert_suffix=".crt")

    @property
    def path(self) -> Path:
        return self.ca

    def issue(  # type: ignore[override]
        self,
        stem: str,
        *,
        server: bool = True,
        names: tuple[str, ...] = ("localhost",),
        ips: tuple[str, ...] = ("127.0.0.1",),
    ) -> Pair:
        """A certificate for 127.0.0.1/localhost (server) or a named client, with its key."""
        return super().issue(stem, server=server, names=names, ips=ips)
