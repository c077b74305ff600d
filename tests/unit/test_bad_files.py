"""Hostile files and values: every shipped profile and the example site file, mutated.

Each mutation must end in exit 0 (and then load to finite numbers) or exit 2
with exactly one line naming the file, with no traceback: never a crash, never
NaN or a string taken for a number.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bessai.cli import main
from bessai.core.config.settings import ConfigError, load_settings
from bessai.drivers.profile_loader import load_profile, registry_ids

ROOT = Path(__file__).resolve().parents[2]
PROFILES = {
    pid: json.loads((ROOT / "bessai" / "registry" / f"{pid}.json").read_text())
    for pid in registry_ids()
}
SITE_EXAMPLE = (ROOT / "config" / "site.example.toml").read_text(encoding="utf-8")

HOSTILE_JSON = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.booleans(),
    st.none(),
    st.text(max_size=20),
    st.sampled_from(["12", "true", "nan", "", "\ud800", "x" * 300, "holding", "u16", "rw"]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            found += _paths(v, (*prefix, i))
    return found


def _set(root: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    node = root
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return root


@st.composite
def mutated_profile(draw: st.DrawFn) -> bytes:
    pid = draw(st.sampled_from(sorted(PROFILES)))
    data = json.loads(json.dumps(PROFILES[pid]))
    how = draw(st.sampled_from(["replace", "delete", "add", "nest", "bytes", "truncate"]))
    paths = _paths(data)
    path = draw(st.sampled_from(paths))
    if how == "replace":
        data = _set(data, path, draw(HOSTILE_JSON))
    elif how == "delete" and path:
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        del parent[path[-1]]
    elif how == "add":
        target = data
        for key in path:
            if not isinstance(target[key], dict | list):
                break
            target = target[key]
        if isinstance(target, dict):
            target[draw(st.text(max_size=8))] = draw(HOSTILE_JSON)
    elif how == "nest":
        depth = draw(st.integers(10, 3000))
        text = json.dumps(_set(data, path, "NESTED"))
        return text.replace('"NESTED"', "[" * depth + "]" * depth, 1).encode()
    text = json.dumps(data, allow_nan=True)
    raw = text.encode("utf-8", errors="surrogatepass")
    if how == "bytes":
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.binary(min_size=1, max_size=4)) + raw[at:]
    elif how == "truncate":
        raw = raw[: draw(st.integers(0, len(raw)))]
    return raw


def _only_finite(node: Any) -> None:
    if isinstance(node, float):
        assert math.isfinite(node)
    elif isinstance(node, dict):
        for v in node.values():
            _only_finite(v)
    elif isinstance(node, list):
        for v in node:
            _only_finite(v)


def _one_clear_line(rc: int, out: str, err: str, path: Path) -> None:
    assert rc in (0, 2), (rc, out, err)
    assert "Traceback" not in out + err
    if rc == 2:
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1, err
        assert lines[0].startswith("INVALID ")
        assert str(path.name) in lines[0], lines[0]
    else:
        assert next(line for line in out.splitlines() if line.strip()).startswith("ok ")


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raw=mutated_profile())
def test_mutated_profiles_are_checked_cleanly(
    raw: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mutated.json"
    path.write_bytes(raw)
    rc = main(["profile", "check", str(path)])
    out, err = capsys.readouterr()
    event(f"exit {rc}")
    _one_clear_line(rc, out, err, path)
    if rc == 0:
        _only_finite(load_profile(path).model_dump())


LITERALS = [
    "nan",
    "inf",
    "-inf",
    '"502"',
    "true",
    '""',
    '"é-site"',
    "1e400",
    "-1",
    "99999999999999999999",
    "[1, 2]",
    "{ a = 1 }",
    '"999.1.1.1"',
    '"\\ud800"',
    "0",
]


@st.composite
def mutated_site_file(draw: st.DrawFn) -> bytes:
    lines = SITE_EXAMPLE.splitlines()
    assignments = [i for i, line in enumerate(lines) if re.match(r"^\s*[a-z_]+\s*=", line)]
    how = draw(st.sampled_from(["value", "value", "key", "bytes", "drop"]))
    i = draw(st.sampled_from(assignments))
    key, _, _ = lines[i].partition("=")
    if how == "value":
        lines[i] = f"{key}= {draw(st.sampled_from(LITERALS))}"
    elif how == "key":
        lines[i] = f"{draw(st.text(alphabet='abcxyz_', min_size=1, max_size=8))} = 1"
    elif how == "drop":
        del lines[i]
    raw = "\n".join(lines).encode()
    if how == "bytes":
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.binary(min_size=1, max_size=4)) + raw[at:]
    return raw


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raw=mutated_site_file())
def test_mutated_site_files_are_checked_cleanly(
    raw: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "site.toml"
    path.write_bytes(raw)
    rc = main(["site", "check", str(path)])
    out, err = capsys.readouterr()
    event(f"exit {rc}")
    _one_clear_line(rc, out, err, path)


VARIABLES = [
    "SITE_ID",
    "INVERTER_IP",
    "INVERTER_PORT",
    "INVERTER_UNIT_ID",
    "HEALTH_PORT",
    "HEALTH_BIND",
    "POLL_INTERVAL_S",
    "WATCHDOG_TIMEOUT",
    "OUTBOX_MAX_ROWS",
    "HISTORY_RAW_DAYS",
    "LOG_LEVEL",
    "DISPATCH_MODE",
    "DATA_DIR",
]
ENV_VALUES = [
    "",
    " ",
    "nan",
    "inf",
    "-1",
    "0",
    "1e400",
    "999.1.1.1",
    "é",
    "abc",
    "65536",
    "1.5",
    "\t",
    "x" * 300,
]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.sampled_from(VARIABLES), value=st.sampled_from(ENV_VALUES))
def test_hostile_environment_values_are_one_clear_error(
    name: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(name, value)
    try:
        loaded = load_settings()
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith(f"environment variable {name}")
        assert "\n" not in message
        return
    finally:
        monkeypatch.delenv(name)
    number = getattr(loaded, name)
    if isinstance(number, float):
        assert math.isfinite(number)
    if name == "INVERTER_IP":
        assert loaded.INVERTER_IP not in ("", "999.1.1.1")


def _sim_profile_text() -> str:
    return (ROOT / "bessai" / "registry" / "sim_bess.json").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"[" * 1000 + b"]" * 1000, "not valid JSON: recursion limit exceeded"),
        (
            _sim_profile_text().encode().replace(b"State of charge", b"State \xff charge"),
            "not UTF-8 text",
        ),
        (_sim_profile_text().replace("State of charge", "\\ud800").encode(), "not valid JSON"),
        (_sim_profile_text().replace('"scale": 0.01', '"scale": NaN', 1).encode(), "finite number"),
        (
            _sim_profile_text().replace('"scale": 0.01', '"scale": -Infinity', 1).encode(),
            "finite number",
        ),
        (_sim_profile_text().replace('"max": 100.0', '"max": "12"', 1).encode(), "valid number"),
        (_sim_profile_text().replace('"min": -100.0', '"min": true', 1).encode(), "valid number"),
    ],
)
def test_the_reported_bad_profiles(
    raw: bytes, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(raw)
    assert main(["profile", "check", str(path)]) == 2
    out, err = capsys.readouterr()
    assert expected in err
    _one_clear_line(2, out, err, path)
