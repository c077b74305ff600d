"""What a commissioning run reports: each test's verdict and figures, the run's whole
report in the form its JSON takes, and the sentences the tests share (English and Spanish,
the report's language picks one)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from bessai import __version__


@dataclass
class TestResult:
    """One test: passed, failed, or not run (None), with what it measured; ``detail`` says
    so in English and ``detail_es`` in Spanish (the report's language picks one)."""

    name: str
    passed: bool | None
    detail: str
    figures: dict[str, Any] = field(default_factory=dict)
    started_at: float = 0.0
    duration_s: float = 0.0
    detail_es: str = ""


@dataclass(frozen=True)
class Words:
    """What a test says, in English and in Spanish."""

    en: str
    es: str


def verdict(
    name: str, passed: bool | None, words: Words, figures: dict[str, Any] | None = None
) -> TestResult:
    """A test's result saying ``words``."""
    return TestResult(name, passed, words.en, figures or {}, detail_es=words.es)


NO_CONTROL = Words(
    "the profile has no control section: nothing to command",
    "el perfil no tiene sección de control: nada que comandar",
)


@dataclass
class CommissioningReport:
    """Everything a commissioning report shows, in the form its JSON takes."""

    site_id: str
    device: str
    endpoint: str
    identity: dict[str, Any]
    profile: dict[str, Any]
    limits: dict[str, Any]
    user: str
    role: str
    started_at: float
    finished_at: float = 0.0
    tests: list[TestResult] = field(default_factory=list)
    audit_head_seq: int = 0
    audit_head_hash: str = ""
    software: str = f"bessai-edge {__version__}"

    @property
    def passed(self) -> bool:
        return all(t.passed is not False for t in self.tests) and any(t.passed for t in self.tests)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["passed"] = self.passed
        return data
