"""The commissioning report as a PDF, through Qt's own PDF writer.

The PDF is drawn from the report's JSON (the same data the JSON file holds),
so that what an auditor reads on paper and what a tool reads are one record.
Only the text is translated; the figures are the run's.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMarginsF
from PySide6.QtGui import QPageLayout, QPageSize, QPdfWriter, QTextDocument

TEXT = {
    "title": ("Informe de puesta en servicio", "Commissioning report"),
    "site": ("Sitio", "Site"),
    "device": ("Equipo", "Device"),
    "endpoint": ("Conexión", "Connection"),
    "profile": ("Perfil", "Profile"),
    "sources": ("Fuentes", "Sources"),
    "identity": ("Identidad y firmware", "Identity and firmware"),
    "limits": ("Límites en vigor", "Limits in force"),
    "tests": ("Pruebas", "Tests"),
    "test": ("Prueba", "Test"),
    "result": ("Resultado", "Result"),
    "figures": ("Mediciones", "Figures"),
    "ran_by": ("Ejecutado por", "Run by"),
    "started": ("Inicio", "Started"),
    "finished": ("Fin", "Finished"),
    "overall": ("Resultado global", "Overall result"),
    "audit": ("Cadena de auditoría al cierre", "Audit chain at the end"),
    "audit_hint": (
        "Comparar con «bessai audit verify» en el mismo equipo.",
        "Compare with 'bessai audit verify' on the same gateway.",
    ),
    "pass": ("APROBADA", "PASS"),
    "fail": ("FALLIDA", "FAIL"),
    "not_run": ("NO EJECUTADA", "NOT RUN"),
    "software": ("Software", "Software"),
    "registers": ("{0} registros, {1} sin verificar", "{0} registers, {1} unverified"),
}
ROLES = {
    "viewer": "observador",
    "operator": "operador",
    "engineer": "ingeniero",
    "admin": "administrador",
}
TEST_TITLES = {
    "identity": ("Identidad", "Identity"),
    "poll": ("Lectura completa en rango", "Full poll in range"),
    "step": ("Escalón de consigna", "Setpoint step"),
    "watchdog": ("Watchdog", "Watchdog"),
    "interlock": ("Enclavamiento", "Interlock"),
    "comms_loss": ("Pérdida de comunicación", "Comms loss"),
}


def _t(key: str, language: str) -> str:
    es, en = TEXT[key]
    return es if language == "es" else en


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if ts else "-"


def _figure(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return "<br>".join(_figure(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_figure(v)}" for k, v in value.items())
    return html.escape(str(value))


def _verdict(passed: bool | None, language: str) -> str:
    key = "not_run" if passed is None else "pass" if passed else "fail"
    colour = "#555555" if passed is None else "#1a1a1a" if passed else "#b00020"
    return f'<b style="color:{colour}">{_t(key, language)}</b>'


def report_html(report: dict[str, Any], language: str = "es") -> str:
    """The report as the HTML the PDF is printed from."""
    e = html.escape
    rows = []
    for test in report["tests"]:
        es, en = TEST_TITLES.get(test["name"], (test["name"], test["name"]))
        figures = "<br>".join(f"{e(k)}: {_figure(v)}" for k, v in test["figures"].items())
        detail = test.get("detail_es") if language == "es" else None
        rows.append(
            f"<tr><td><b>{e(es if language == 'es' else en)}</b><br>{e(detail or test['detail'])}</td>"
            f"<td>{_verdict(test['passed'], language)}<br>{test['duration_s']:g} s</td>"
            f"<td style='font-size:7pt'>{figures}</td></tr>"
        )
    identity = "".join(
        f"<tr><td>{e(str(k))}</td><td>{e(str(v))}</td></tr>" for k, v in report["identity"].items()
    )
    limits = ", ".join(f"{e(k)} = {_figure(v)}" for k, v in report["limits"].items())
    profile = report["profile"]
    sources = "<br>".join(e(s) for s in profile.get("sources", []))
    role = ROLES.get(report["role"], report["role"]) if language == "es" else report["role"]
    return f"""
<html><body style="font-family: sans-serif; font-size: 9pt">
<h2>{_t("title", language)}</h2>
<table cellpadding="3" width="100%">
<tr><td><b>{_t("site", language)}</b></td><td>{e(report["site_id"])}</td>
<td><b>{_t("overall", language)}</b></td><td>{_verdict(report["passed"], language)}</td></tr>
<tr><td><b>{_t("device", language)}</b></td><td>{e(report["device"])}</td>
<td><b>{_t("endpoint", language)}</b></td><td>{e(report["endpoint"])}</td></tr>
<tr><td><b>{_t("ran_by", language)}</b></td><td>{e(report["user"])} ({e(role)})</td>
<td><b>{_t("software", language)}</b></td><td>{e(report["software"])}</td></tr>
<tr><td><b>{_t("started", language)}</b></td><td>{_when(report["started_at"])}</td>
<td><b>{_t("finished", language)}</b></td><td>{_when(report["finished_at"])}</td></tr>
</table>
<h3>{_t("profile", language)}</h3>
<p>{e(profile["id"])}: {e(profile["manufacturer"])} {e(profile["model"])}
({_t("registers", language).format(profile["registers"], profile["unverified"])})<br>
{e(profile["source"])}<br>{sources}</p>
<h3>{_t("identity", language)}</h3>
<table border="1" cellspacing="0" cellpadding="3">{identity}</table>
<h3>{_t("limits", language)}</h3>
<p style="font-size:8pt">{limits}</p>
<h3>{_t("tests", language)}</h3>
<table border="1" cellspacing="0" cellpadding="3" width="100%">
<tr><th>{_t("test", language)}</th><th>{_t("result", language)}</th>
<th>{_t("figures", language)}</th></tr>
{"".join(rows)}
</table>
<h3>{_t("audit", language)}</h3>
<p>#{report["audit_head_seq"]} <tt>{e(report["audit_head_hash"])}</tt><br>
{_t("audit_hint", language)}</p>
</body></html>"""


def write_pdf(report: dict[str, Any], path: Path, language: str = "es") -> None:
    """Print the report to an A4 PDF with Qt's PDF writer (needs a QGuiApplication)."""
    writer = QPdfWriter(str(path))
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setPageMargins(QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter)
    writer.setTitle(f"{_t('title', language)}: {report['site_id']} / {report['device']}")
    writer.setCreator(report["software"])
    document = QTextDocument()
    document.setHtml(report_html(report, language))
    document.print_(writer)  # lays the text out on the writer's pages, at its resolution
    del writer  # the file is complete only once the writer is gone
