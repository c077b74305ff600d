"""The paper trail stays true: every test the compliance mappings cite collects, every alert
has its runbook entry, every ADR says its decision, the licence is the one pyproject declares
(the Terraform's checks are in test_terraform.py)."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
NODE_ID = re.compile(r"`(tests/[\w/]+\.py::test_\w+(?:\[[^\]`]+\])?)`")


def cited_ids() -> list[str]:
    ids: set[str] = set()
    for page in sorted((ROOT / "docs" / "compliance").glob("*.md")):
        ids |= set(NODE_ID.findall(page.read_text(encoding="utf-8")))
    return sorted(ids)


def test_the_compliance_mappings_cite_tests_and_every_cited_test_collects() -> None:
    ids = cited_ids()
    assert len(ids) >= 40, ids  # the mappings are made of tests, not of claims
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *ids],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    collected = {line.strip() for line in result.stdout.splitlines() if "::" in line}
    missing = [i for i in ids if not any(c == i or c.startswith(i + "[") for c in collected)]
    assert not missing, missing


def test_every_alert_rule_has_a_runbook_entry_with_meaning_check_and_do() -> None:
    rules = yaml.safe_load((ROOT / "packaging/prometheus/alert_rules.yml").read_text())
    alerts = [r["alert"] for group in rules["groups"] for r in group["rules"] if "alert" in r]
    runbook = (ROOT / "docs" / "runbook.md").read_text(encoding="utf-8")
    sections = dict(re.findall(r"^## (\w+)\n(.*?)(?=^## |\Z)", runbook, re.S | re.M))
    assert sorted(sections) == sorted(alerts)
    for alert, body in sections.items():
        for part in ("**Meaning:**", "**Check:**", "**Do:**"):
            assert part in body, (alert, part)


def test_every_adr_has_a_status_context_decision_and_consequences() -> None:
    adrs = sorted((ROOT / "docs" / "adr").glob("[0-9][0-9][0-9][0-9]-*.md"))
    assert len(adrs) >= 6
    for adr in adrs:
        text = adr.read_text(encoding="utf-8")
        assert text.startswith(f"# ADR {adr.name[:4]}: "), adr.name
        for heading in ("- Status: ", "## Context", "## Decision", "## Consequences"):
            assert heading in text, (adr.name, heading)


def test_the_licence_is_the_apache_2_0_that_pyproject_declares() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == {"text": "Apache-2.0"}
    licence = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in licence
    assert "Version 2.0, January 2004" in licence
    assert "END OF TERMS AND CONDITIONS" in licence
    for paper in ("SECURITY.md", "CONTRIBUTING.md", "CHANGELOG.md"):
        assert (ROOT / paper).stat().st_size > 500, paper


def test_the_collector_configuration_sends_traces_to_cloud_trace() -> None:
    config = yaml.safe_load((ROOT / "packaging/otel/collector.yaml").read_text(encoding="utf-8"))
    pipeline = config["service"]["pipelines"]["traces"]
    assert pipeline["receivers"] == ["otlp"]
    assert pipeline["exporters"] == ["googlecloud"]
    assert "memory_limiter" in pipeline["processors"]
    for part in pipeline["processors"]:
        assert part in config["processors"], part
    assert config["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"] == "127.0.0.1:4317"
