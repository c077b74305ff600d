"""A device's ``tls = { ca, cert, key }`` in the site file: every bad entry is one line naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bessai.core.config.settings import ConfigError, load_site_file
from tests.tls_certs import Pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


def _site(tmp_path: Path, device: str) -> Path:
    site = tmp_path / "site.toml"
    site.write_text(
        f'[[devices]]\nname = "bess"\nprofile = "sim_bess"\n{device}\n', encoding="utf-8"
    )
    return site


def _error(site: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_site_file(site)
    text = str(info.value)
    assert "\n" not in text
    assert "Traceback" not in text
    assert text.startswith(f"site file {site}: key devices.0")
    return text


def test_a_full_tls_entry_is_read(pki: Pki, tmp_path: Path) -> None:
    client = pki.issue("gateway", server=False)
    site = _site(
        tmp_path,
        f'host = "10.0.0.5"\n'
        f'tls = {{ ca = "{pki.ca}", cert = "{client.cert}", key = "{client.key}", '
        f'server_name = "bess-1.site" }}',
    )
    tls = load_site_file(site).devices[0].tls
    assert tls is not None
    assert (tls.ca, tls.cert, tls.key, tls.server_name) == (
        str(pki.ca),
        str(client.cert),
        str(client.key),
        "bess-1.site",
    )


def test_a_certificate_without_its_key_is_refused(pki: Pki, tmp_path: Path) -> None:
    client = pki.issue("gateway", server=False)
    text = _error(
        _site(tmp_path, f'host = "h"\ntls = {{ ca = "{pki.ca}", cert = "{client.cert}" }}')
    )
    assert "give both 'cert' and 'key'" in text


def test_a_missing_ca_file_names_the_file(tmp_path: Path) -> None:
    gone = tmp_path / "nowhere" / "ca.pem"
    text = _error(_site(tmp_path, f'host = "h"\ntls = {{ ca = "{gone}" }}'))
    assert f"tls ca {gone}: cannot load: No such file or directory" in text


def test_a_file_that_is_no_certificate_names_the_file(pki: Pki, tmp_path: Path) -> None:
    junk = tmp_path / "ca.pem"
    junk.write_text("not a certificate\n", encoding="utf-8")
    text = _error(_site(tmp_path, f'host = "h"\ntls = {{ ca = "{junk}" }}'))
    assert f"tls ca {junk}: cannot load:" in text


def test_a_key_that_is_not_the_certificates_is_refused(pki: Pki, tmp_path: Path) -> None:
    one, other = pki.issue("one", server=False), pki.issue("two", server=False)
    text = _error(
        _site(
            tmp_path,
            f'host = "h"\ntls = {{ ca = "{pki.ca}", cert = "{one.cert}", key = "{other.key}" }}',
        )
    )
    assert f"tls cert {one.cert} / key {other.key}: cannot load:" in text


@pytest.mark.parametrize(
    "link", ['serial_port = "/dev/ttyUSB0"', "simulated = true"], ids=["serial", "simulated"]
)
def test_tls_needs_a_host(pki: Pki, tmp_path: Path, link: str) -> None:
    text = _error(_site(tmp_path, f'{link}\ntls = {{ ca = "{pki.ca}" }}'))
    assert "'tls' is for a device reached at a 'host'" in text


def test_an_unknown_tls_key_is_named(pki: Pki, tmp_path: Path) -> None:
    text = _error(_site(tmp_path, f'host = "h"\ntls = {{ ca = "{pki.ca}", verify = false }}'))
    assert "devices.0.tls.verify" in text
