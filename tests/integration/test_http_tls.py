"""/health and /metrics behind TLS and basic auth (HEALTH_WEB_CONFIG), over real sockets.

Certificates are made in the test; Debian's Prometheus scrapes the gateway over
TLS with basic auth using the shipped example scrape configuration.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import bcrypt
import pytest
import yaml

from bessai.core.config.settings import ConfigError
from bessai.core.observe.health import health_report
from bessai.core.observe.web_config import load_web_config
from bessai.core.site.gateway import Gateway
from bessai.drivers.simulator.server import BessSimulator
from tests.certs import CertAuthority, Pair
from tests.helpers import free_port, sim_device, until
from tests.integration.test_monitoring import _process, _tool

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "packaging" / "monitoring"
USER, PASSWORD = "prometheus", "scrape-secret-1"


def _hash(password: str) -> str:
    # Cost 4 keeps the test quick; the shipped example says 10 or more.
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()


def _web_config(folder: Path, pair: Pair, **tls: Any) -> Path:
    path = folder / "web-config.yml"
    body = {
        "tls_server_config": {"cert_file": pair.cert.name, "key_file": pair.key.name, **tls},
        "basic_auth_users": {USER: _hash(PASSWORD)},
    }
    path.write_text(yaml.safe_dump(body))
    return path


@pytest.fixture
def ca(tmp_path: Path) -> CertAuthority:
    return CertAuthority(tmp_path / "pki")


@pytest.fixture
async def tls_gateway(
    simulator: tuple[BessSimulator, int], tmp_path: Path, ca: CertAuthority
) -> AsyncIterator[Gateway]:
    _, port = simulator
    config = _web_config(ca.folder, ca.issue("server"))
    gw = Gateway(
        "tls-site",
        [sim_device(port)],
        data_dir=tmp_path / "data",
        health_port=0,
        health_web_config=config,
    )
    await gw.start()
    try:
        await until(lambda: gw.pollers["bess"].status.polls_ok > 0, 5.0, "a first poll")
        yield gw
    finally:
        await gw.stop()


def _client_tls(ca: CertAuthority, client: Pair | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca.path))
    if client is not None:
        context.load_cert_chain(str(client.cert), str(client.key))
    return context


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def _get(
    url: str, context: ssl.SSLContext, auth: dict[str, str] | None = None
) -> tuple[int, str, str | None]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(url, ssl=context, headers=auth) as response,
    ):
        return response.status, await response.text(), response.headers.get("WWW-Authenticate")


async def test_https_asks_for_credentials_and_serves_metrics_with_them(
    tls_gateway: Gateway, ca: CertAuthority
) -> None:
    assert tls_gateway.http is not None
    base = f"https://127.0.0.1:{tls_gateway.http.port}"
    tls = _client_tls(ca)
    status, _, challenge = await _get(f"{base}/metrics", tls)
    assert status == 401
    assert challenge is not None
    assert challenge.startswith("Basic ")
    status, body, _ = await _get(f"{base}/metrics", tls, _basic(USER, PASSWORD))
    assert status == 200
    assert any(line.startswith("bessai_device_connected{") for line in body.splitlines())
    wrong = await _get(f"{base}/metrics", tls, _basic(USER, "scrape-secret-2"))
    assert wrong[0] == 401
    assert "bessai_" not in wrong[1]
    stranger = await _get(f"{base}/metrics", tls, _basic("mallory", PASSWORD))
    assert stranger[0] == 401
    status, body, _ = await _get(f"{base}/health", tls)
    assert status == 401
    assert "devices" not in body
    status, body, _ = await _get(f"{base}/health", tls, _basic(USER, PASSWORD))
    assert status != 401, body
    report = json.loads(body)
    assert report["site_id"] == "tls-site", body


@pytest.mark.parametrize(
    "header",
    [
        "Bearer abc",
        "Basic !!!not-base64",
        "Basic " + base64.b64encode(b"no-colon-here").decode(),
        "Basic " + base64.b64encode(b"prometheus:" + b"x" * 73).decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:pw").decode(),
        "Basic",
    ],
    ids=["bearer", "bad-base64", "no-colon", "73-bytes", "not-utf8", "empty"],
)
async def test_malformed_credentials_are_401_never_a_5xx(
    tls_gateway: Gateway, ca: CertAuthority, header: str
) -> None:
    assert tls_gateway.http is not None
    url = f"https://127.0.0.1:{tls_gateway.http.port}/metrics"
    status, body, _ = await _get(url, _client_tls(ca), {"Authorization": header})
    assert status == 401
    assert "bessai_" not in body


async def test_plain_http_on_the_tls_port_gets_no_metrics(tls_gateway: Gateway) -> None:
    assert tls_gateway.http is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", tls_gateway.http.port)
    writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    assert b"bessai_" not in answer
    assert not answer.startswith(b"HTTP/1.1 200")
    # A client that does not trust the site's CA is refused at the handshake.
    with pytest.raises(aiohttp.ClientConnectorCertificateError):
        await _get(
            f"https://127.0.0.1:{tls_gateway.http.port}/metrics", ssl.create_default_context()
        )


async def test_client_certificates_when_required(
    simulator: tuple[BessSimulator, int], tmp_path: Path, ca: CertAuthority
) -> None:
    _, port = simulator
    config = _web_config(
        ca.folder,
        ca.issue("server"),
        client_ca_file="ca.crt",
        client_auth_type="RequireAndVerifyClientCert",
        min_version="TLS13",
    )
    gw = Gateway(
        "mtls", [sim_device(port)], data_dir=tmp_path / "d", health_port=0, health_web_config=config
    )
    await gw.start()
    try:
        assert gw.http is not None
        url = f"https://127.0.0.1:{gw.http.port}/metrics"
        auth = _basic(USER, PASSWORD)
        with pytest.raises(aiohttp.ClientError):
            await _get(url, _client_tls(ca), auth)
        stranger = CertAuthority(tmp_path / "other", "someone else's CA").issue("c", server=False)
        with pytest.raises(aiohttp.ClientError):
            await _get(url, _client_tls(ca, stranger), auth)
        status, body, _ = await _get(url, _client_tls(ca, ca.issue("scraper", server=False)), auth)
        assert status == 200
        assert "bessai_" in body
    finally:
        await gw.stop()


async def test_off_loopback_without_a_web_config_warns_and_health_says_so(
    simulator: tuple[BessSimulator, int], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _, port = simulator
    gw = Gateway(
        "open", [sim_device(port)], data_dir=tmp_path, health_port=0, health_bind="0.0.0.0"
    )
    with caplog.at_level(logging.WARNING):
        await gw.start()
    try:
        assert gw.http is not None
        warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any("without TLS" in m and "HEALTH_WEB_CONFIG" in m for m in warned), warned
        problems = health_report(gw)["problems"]
        assert any(p.startswith(f"http on 0.0.0.0:{gw.http.port} without TLS") for p in problems)
        assert any("without credentials" in p for p in problems)
        url = f"http://127.0.0.1:{gw.http.port}/health"
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            body = await response.json()
        assert any("without TLS" in p for p in body["problems"])
        assert body["status"] != "ok"
    finally:
        await gw.stop()


async def test_loopback_without_a_web_config_is_no_problem(
    simulator: tuple[BessSimulator, int], tmp_path: Path
) -> None:
    _, port = simulator
    gw = Gateway("lo", [sim_device(port)], data_dir=tmp_path, health_port=0)
    await gw.start()
    try:
        assert not any(p.startswith("http on") for p in health_report(gw)["problems"])
    finally:
        await gw.stop()


def _bad_configs(folder: Path, ca: CertAuthority) -> list[tuple[str, str, str]]:
    """(name, file text, what the one line must say)."""
    pair = ca.issue("server")
    other = ca.issue("other")
    cert, key = pair.cert.name, pair.key.name
    (folder / "notpem.txt").write_text("not a certificate\n")
    good_hash = _hash("x")

    def tls(**extra: Any) -> str:
        return str(
            yaml.safe_dump({"tls_server_config": {"cert_file": cert, "key_file": key, **extra}})
        )

    return [
        ("yaml", "tls_server_config: [cert_file: a\n", "not valid YAML: line"),
        ("list", "- a\n- b\n", "expected a mapping"),
        ("unknown", "tls_config:\n  cert_file: a\n", "key tls_config: not supported"),
        ("rate", tls(cipher_suites=["TLS_AES_128_GCM_SHA256"]), "tls_server_config.cipher_suites"),
        ("nocert", "tls_server_config:\n  key_file: k\n", "tls_server_config.cert_file: missing"),
        ("nofile", tls().replace(cert, "absent.crt"), "cert_file = 'absent.crt': cannot read"),
        (
            "mismatch",
            tls().replace(key, other.key.name),
            "not a usable PEM certificate and matching key",
        ),
        ("notpem", tls().replace(cert, "notpem.txt"), "not a usable PEM certificate"),
        ("old", tls(min_version="TLS10"), "min_version = 'TLS10': expected TLS12 or TLS13"),
        ("unverified", tls(client_auth_type="RequireAnyClientCert"), "without verifying"),
        ("noca", tls(client_auth_type="RequireAndVerifyClientCert"), "client_ca_file: missing"),
        ("caonly", tls(client_ca_file="ca.crt"), "client_auth_type is NoClientCert"),
        ("plain", "basic_auth_users:\n  prometheus: hunter2\n", "basic_auth_users.prometheus: not a bcrypt hash"),
        (
            "md5",
            "basic_auth_users:\n  p: $apr1$x7bR2sQ1$Ckm2bYx2mVAc4mL4bWq7d/\n",
            "basic_auth_users.p: not a bcrypt hash",
        ),
        ("colon", yaml.safe_dump({"basic_auth_users": {"a:b": good_hash}}), "without ':'"),
        ("users", "basic_auth_users: [a, b]\n", "expected user: bcrypt hash pairs"),
    ]  # fmt: skip


def test_a_bad_web_config_is_one_line_naming_file_and_key(
    tmp_path: Path, ca: CertAuthority
) -> None:
    for name, text, expected in _bad_configs(ca.folder, ca):
        path = ca.folder / f"{name}.yml"
        path.write_text(text)
        with pytest.raises(ConfigError) as caught:
            load_web_config(path)
        message = str(caught.value)
        assert message.startswith(f"HEALTH_WEB_CONFIG {path}: "), (name, message)
        assert expected in message, (name, message)
        assert "\n" not in message, name
    with pytest.raises(ConfigError, match=r"absent\.yml: cannot read: No such file"):
        load_web_config(tmp_path / "absent.yml")
    with pytest.raises(ConfigError, match=r"cannot read: Is a directory"):
        load_web_config(tmp_path)
    (tmp_path / "latin1.yml").write_bytes(b"basic_auth_users:\n  jos\xe9: x\n")
    with pytest.raises(ConfigError, match=r"byte \d+: not UTF-8"):
        load_web_config(tmp_path / "latin1.yml")


def _bessai(tmp_path: Path, *args: str, **env_set: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "QT_QPA_PLATFORM": "offscreen",
        "DATA_DIR": str(tmp_path / "data"),
        **env_set,
    }
    return subprocess.run(
        [sys.executable, "-m", "bessai", *args, "--duration", "1"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=90,
        check=False,
    )


@pytest.mark.parametrize("face", [["--headless"], []], ids=["headless", "app"])
def test_a_bad_web_config_stops_either_face_with_exit_2(
    tmp_path: Path, ca: CertAuthority, face: list[str]
) -> None:
    config = tmp_path / "web.yml"
    config.write_text("basic_auth_users:\n  prometheus: plain-text-password\n")
    done = _bessai(tmp_path, *face, HEALTH_WEB_CONFIG=str(config))
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == [
        f"bessai: configuration error: HEALTH_WEB_CONFIG {config}: key "
        "basic_auth_users.prometheus: not a bcrypt hash (expected $2y$10$… as from "
        "`htpasswd -nBC 10 \"\" | tr -d ':\\n'`)"
    ], done.stderr
    missing = _bessai(tmp_path, *face, HEALTH_WEB_CONFIG=str(tmp_path / "nope.yml"))
    assert missing.returncode == 2
    assert missing.stderr.strip().endswith("nope.yml: cannot read: No such file or directory")


async def test_prometheus_scrapes_over_tls_with_basic_auth(
    simulator: tuple[BessSimulator, int], tmp_path: Path, ca: CertAuthority
) -> None:
    prometheus = _tool("prometheus", "Debian's prometheus")
    _, port = simulator
    gw = Gateway(
        "cl-tls-1",
        [sim_device(port)],
        data_dir=tmp_path / "data",
        health_port=free_port(),
        health_web_config=_web_config(ca.folder, ca.issue("server")),
    )
    # The shipped scrape configuration for a secured gateway, with this test's paths and ports.
    shipped = yaml.safe_load((MONITORING / "prometheus-tls.yml").read_text())
    job = next(j for j in shipped["scrape_configs"] if j["job_name"] == "bessai")
    assert job["scheme"] == "https"
    assert set(job["tls_config"]) >= {"ca_file"}
    assert set(job["basic_auth"]) >= {"username"}
    password = tmp_path / "bessai.password"
    password.write_text(PASSWORD + "\n")
    job["scrape_interval"] = "1s"
    job["static_configs"][0]["targets"] = [f"127.0.0.1:{gw.health_port}"]
    job["tls_config"]["ca_file"] = str(ca.path)
    job["tls_config"].pop("server_name", None)
    job["basic_auth"] = {"username": USER, "password_file": str(password)}
    config = {"global": {"scrape_interval": "1s"}, "scrape_configs": [job]}
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    prom_port = free_port()
    await gw.start()
    try:
        async with _process(
            prometheus,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'prom-data'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ) as proc:
            api = f"http://127.0.0.1:{prom_port}/api/v1"
            found: dict[str, Any] = {}

            async def scraped() -> bool:
                async with aiohttp.ClientSession() as http:
                    try:
                        async with http.get(f"{api}/targets") as response:
                            targets = (await response.json())["data"]["activeTargets"]
                        async with http.get(
                            f"{api}/query",
                            params={"query": 'bessai_device_connected{site="cl-tls-1"}'},
                        ) as response:
                            result = (await response.json())["data"]["result"]
                    except (aiohttp.ClientError, KeyError):
                        return False
                found.update(targets=targets, result=result)
                return bool(result) and targets[0]["health"] == "up"

            for _ in range(300):
                assert proc.returncode is None, "prometheus exited"
                if await scraped():
                    break
                await asyncio.sleep(0.1)
            else:
                pytest.fail(f"prometheus never scraped over TLS: {found}")
            target = found["targets"][0]
            assert target["scrapeUrl"].startswith("https://127.0.0.1:")
            assert target["lastError"] == ""
            print(
                f"\n[tls] prometheus scraped {target['scrapeUrl']}: {found['result'][0]['metric']}"
            )
    finally:
        await gw.stop()


def test_the_shipped_examples_check_and_load(tmp_path: Path, ca: CertAuthority) -> None:
    done = subprocess.run(
        [
            _tool("promtool", "Debian's prometheus"),
            "check",
            "config",
            str(MONITORING / "prometheus-tls.yml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    example = (MONITORING / "web-config.example.yml").read_text()
    ca.issue("bessai")
    as_shipped = ca.folder / "web-config.yml"
    as_shipped.write_text(example)
    with pytest.raises(ConfigError, match=r"basic_auth_users\.prometheus: not a bcrypt hash"):
        load_web_config(as_shipped)
    as_shipped.write_text(example.replace("REPLACE-WITH-A-BCRYPT-HASH", _hash(PASSWORD)))
    loaded = load_web_config(as_shipped)
    assert loaded.tls is not None
    assert loaded.tls.minimum_version is ssl.TLSVersion.TLSv1_2
    assert list(loaded.users) == ["prometheus"]
