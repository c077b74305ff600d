"""The commissioning report a witness signs, as a PDF through Qt's own PDF writer.

The PDF is drawn from the report's JSON (the same data the JSON file holds), so that what
an auditor reads on paper and what a tool reads are one record. The core gives findings and
criteria as codes with values; they are worded here in the report's language, and the
plots (step response, watchdog fall, interlock trip) are painted with Qt from the raw series
the JSON keeps. Only the words are translated; the figures are the run's.
"""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMarginsF, QPointF, QRectF, Qt, QUrl
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QPainterPath,
    QPdfWriter,
    QPen,
    QTextDocument,
)

from bessai.gui.bridge_commands import CRITERIA, FINDINGS, QUANTITIES, fill

TEXT = {
    "title": ("Informe de puesta en servicio", "Commissioning report"),
    "site": ("Sitio", "Site"),
    "device": ("Equipo", "Device"),
    "endpoint": ("Conexión", "Connection"),
    "profile": ("Perfil", "Profile"),
    "sources": ("Fuentes", "Sources"),
    "identity": ("Identidad y firmware", "Identity and firmware"),
    "limits": ("Límites en vigor", "Limits in force"),
    "limit": ("Límite", "Limit"),
    "value": ("Valor", "Value"),
    "unit": ("Unidad", "Unit"),
    "tests": ("Pruebas", "Tests"),
    "test": ("Prueba", "Test"),
    "result": ("Resultado", "Result"),
    "criterion": ("Criterio de aceptación", "Pass criterion"),
    "measured": ("Medido", "Measured"),
    "ran_by": ("Ejecutado por", "Run by"),
    "started": ("Inicio", "Started"),
    "finished": ("Fin", "Finished"),
    "overall": ("Resultado global", "Overall result"),
    "report_id": ("Informe", "Report"),
    "audit": ("Cadena de auditoría al cierre", "Audit chain at the end"),
    "audit_hint": (
        "Comparar con «bessai audit verify» en el mismo equipo.",
        "Compare with 'bessai audit verify' on the same gateway.",
    ),
    "pass": ("APROBADA", "PASS"),
    "fail": ("FALLIDA", "FAIL"),
    "not_run": ("NO EJECUTADA", "NOT RUN"),
    "not_measured": ("sin medida", "not measured"),
    "software": ("Software", "Software"),
    "registers": ("{0} registros, {1} sin verificar", "{0} registers, {1} unverified"),
    "unverified": ("Registros sin verificar", "Unverified registers"),
    "unverified_power": (
        "De potencia (Auto y control remoto rechazados hasta verificarlos): {0}",
        "Power registers (Auto and remote control refused until verified): {0}",
    ),
    "unverified_none": ("ninguno", "none"),
    "verified_now": (
        "Verificados por este informe (signo y escala de la potencia medidos): {0}",
        "Verified by this report (sign and scale of the power measured): {0}",
    ),
    "verification_error": (
        "La verificación no se pudo guardar: {0}",
        "The verification could not be saved: {0}",
    ),
    "plots": ("Gráficos", "Plots"),
    "witness": ("Testigo", "Witness"),
    "witness_name": ("Nombre del testigo", "Witness's name"),
    "witness_company": ("Empresa", "Company"),
    "witness_instrument": (
        "Potencia leída en el instrumento del testigo a {0} kW",
        "Power read on the witness's instrument at {0} kW",
    ),
    "signature": ("Firma", "Signature"),
    "date": ("Fecha", "Date"),
    "engineer_signature": ("Firma del ingeniero", "Engineer's signature"),
    "yes": ("sí", "yes"),
    "no": ("no", "no"),
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
# The core's findings and criteria (commissioning_report.py) in Spanish, by code.
FINDINGS_ES: dict[str, str] = {
    "no_answer": "el equipo no responde",
    "identity_read": "{read}",
    "no_identity_text": "el perfil no define textos de identidad",
    "no_sample": "ninguna lectura dentro del plazo",
    "out_of_range": "{role} {value} fuera de {low:g}..{high:g}",
    "refused_registers": "rechazados: {registers}",
    "all_in_range": "todos los valores vigilados en rango",
    "no_control": "el perfil no tiene sección de control: nada que comandar",
    "manual_refused": "modo manual rechazado: {why}",
    "step_refused": "{kw:+g} kW rechazada: {why}",
    "step_not_reached": "{kw:+g} kW no alcanzada en {wait_s:g} s (medido {measured})",
    "step_sign_inverted": "{kw:+g} kW medida como {measured}: signo invertido",
    "step_read_back": "{kw:+g} kW releída como {read_back}",
    "step_ok": "±{step:g} kW releídos y alcanzados, el más lento en {slowest_s:.2f} s",
    "no_watchdog": "el perfil no declara watchdog ni plazo de consigna",
    "could_not_start": "no pudo arrancar a {kw:g} kW",
    "still_running": "sigue en marcha {waited_s:g} s después de detener el latido",
    "fell_to_standby": (
        "pasó a espera {fall_s:.1f} s después de detener el latido (plazo {timeout_s:g} s)"
    ),
    "no_trip_value": "sin temperatura de batería ni tensión de pack con que disparar",
    "limit_refused": "límite ajustado rechazado: {why}",
    "no_trip": "ningún disparo tras ajustar el límite",
    "trip_seen": (
        "disparo por {quantity} {value:g} {unit} visto, cero escrito en {trip_s:.2f} s, el "
        "equipo en cero {at_zero_s} s después del cambio; límites restablecidos"
    ),
    "not_restored": "disparo visto, pero los límites no se pudieron restablecer",
    "link_did_not_drop": "el enlace no se cortó en {wait_s:g} s",
    "link_back": (
        "pérdida vista {seen_s:.1f} s después de la última lectura; de vuelta tras "
        "{back_s:.1f} s, aún en espera"
    ),
    "link_not_back": "pérdida vista {seen_s:.1f} s después de la última lectura; no volvió",
    "test_broke": "{error}",
}
QUANTITIES_ES = {"battery_temperature": "temperatura de batería", "pack_voltage": "tensión de pack"}
CRITERIA_ES: dict[str, str] = {
    "answers": "el equipo responde con una lectura",
    "in_range": "{role} dentro de {low:g}..{high:g}",
    "poll_quality": "ningún registro rechazado, calidad no mala",
    "reached": "{kw:+g} kW alcanzados con ±{tolerance_kw:g} kW en {limit_s:g} s",
    "sign": "{kw:+g} kW medidos con el signo de la consigna",
    "read_back": "{kw:+g} kW releídos con ±{tolerance_kw:g} kW",
    "fall": "en espera a menos de {limit_s:g} s de detener el latido (plazo {timeout_s:g} s)",
    "zero_written": "cero escrito a menos de {limit_s:g} s del límite ajustado",
    "device_at_zero": "la potencia del equipo en cero a menos de {limit_s:g} s del disparo",
    "restored": "límites restablecidos tras la prueba",
    "loss_seen": "la pérdida del enlace vista en {limit_s:g} s",
    "standby_after": "aún en espera cuando vuelve el enlace",
}
LIMIT_NAMES = {
    "soc_floor_pct": ("SoC mínimo", "SoC floor"),
    "soc_ceiling_pct": ("SoC máximo", "SoC ceiling"),
    "soc_derate_band_pct": ("Banda de reducción por SoC", "SoC derating band"),
    "max_charge_kw": ("Potencia máxima de carga", "Maximum charge power"),
    "max_discharge_kw": ("Potencia máxima de descarga", "Maximum discharge power"),
    "max_ramp_kw_per_s": ("Rampa máxima", "Maximum ramp"),
    "temp_warning_c": ("Temperatura de aviso", "Warning temperature"),
    "temp_trip_c": ("Temperatura de disparo", "Trip temperature"),
    "temp_derate_band_c": ("Banda de reducción por temperatura", "Temperature derating band"),
    "temp_charge_min_c": ("Temperatura mínima de carga", "Lowest charging temperature"),
    "temp_cold_derate_band_c": ("Banda de reducción en frío", "Cold derating band"),
    "temp_cold_trip_c": ("Disparo por frío", "Cold trip temperature"),
    "pack_voltage_min_v": ("Tensión mínima de pack", "Lowest pack voltage"),
    "pack_voltage_max_v": ("Tensión máxima de pack", "Highest pack voltage"),
    "pack_current_max_a": ("Corriente máxima de pack", "Highest pack current"),
    "max_sample_age_s": ("Antigüedad máxima de los datos", "Oldest data allowed"),
    "frozen_after_s": ("Valores congelados tras", "Values frozen after"),
    "intrusion_lockout_score": ("Umbral de bloqueo por intrusión", "Intrusion lockout score"),
    "capacity_kwh": ("Capacidad", "Capacity"),
    "efficiency": ("Rendimiento", "Efficiency"),
}
UNIT_SUFFIXES = (
    ("_kw_per_s", "kW/s"),
    ("_kwh", "kWh"),
    ("_kw", "kW"),
    ("_pct", "%"),
    ("_c", "°C"),
    ("_v", "V"),
    ("_a", "A"),
    ("_s", "s"),
)
# Each plot: its title, and the names of its curves and marks, in both languages.
PLOT_TEXT = {
    "step": ("Respuesta al escalón", "Step response"),
    "watchdog": ("Caída por watchdog", "Watchdog fall"),
    "interlock": ("Disparo por enclavamiento", "Interlock trip"),
    "setpoint_kw": ("Consigna escrita (kW)", "Setpoint written (kW)"),
    "measured_kw": ("Potencia medida (kW)", "Measured power (kW)"),
    "time": ("Tiempo desde el inicio de la prueba (s)", "Time from the test's start (s)"),
    "power": ("Potencia (kW)", "Power (kW)"),
    "heartbeat_stopped": ("latido detenido", "heartbeat stopped"),
    "fell": ("en espera", "standby"),
    "limit_tightened": ("límite ajustado", "limit tightened"),
    "zero_written": ("cero escrito", "zero written"),
}
PLOTTED = ("step", "watchdog", "interlock")
INK, MUTED, BAD = "#1a1a1a", "#555555", "#b00020"
SETPOINT_INK, MEASURED_INK, MARK_INK = "#1f5fbf", "#1a1a1a", "#b35900"


def _t(key: str, language: str) -> str:
    es, en = TEXT[key]
    return es if language == "es" else en


def _pick(pair: tuple[str, str], language: str) -> str:
    return pair[0] if language == "es" else pair[1]


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if ts else "-"


def _verdict(passed: bool | None, language: str) -> str:
    key = "not_run" if passed is None else "pass" if passed else "fail"
    colour = MUTED if passed is None else INK if passed else BAD
    return f'<b style="color:{colour}">{_t(key, language)}</b>'


def finding_text(finding: dict[str, Any], language: str) -> str:
    """A finding of the core (code and values) in the report's language."""
    values = dict(finding.get("values", {}))
    quantities = QUANTITIES_ES if language == "es" else QUANTITIES
    if "quantity" in values:
        values["quantity"] = quantities.get(values["quantity"], values["quantity"])
    templates = FINDINGS_ES if language == "es" else FINDINGS
    return fill(templates.get(finding["code"], finding["code"]), values)


def _measured(criterion: dict[str, Any], language: str) -> str:
    value = criterion["measured"]
    if value is None:
        return _t("not_measured", language)
    if isinstance(value, float):
        text = f"{value:.2f}" if criterion["unit"] == "s" else f"{value:g}"
    else:
        text = {"yes": _t("yes", language), "no": _t("no", language)}.get(str(value), str(value))
    return f"{text} {criterion['unit']}".strip()


def criterion_text(criterion: dict[str, Any], language: str) -> str:
    """'90 % of the step within 2.0 s: 0.97 s — PASS', in the report's language."""
    templates = CRITERIA_ES if language == "es" else CRITERIA
    said = fill(templates.get(criterion["code"], criterion["code"]), criterion["values"])
    key = "not_run" if criterion["passed"] is None else "pass" if criterion["passed"] else "fail"
    return f"{said}: {_measured(criterion, language)} — {_t(key, language)}"


def limit_unit(name: str) -> str:
    return next((unit for suffix, unit in UNIT_SUFFIXES if name.endswith(suffix)), "")


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float | int) else html.escape(str(value))


def _nice_step(span: float) -> float:
    """A round tick spacing giving 4 to 10 ticks over ``span``."""
    raw = span / 6 if span > 0 else 1.0
    power: float = 10.0 ** math.floor(math.log10(raw))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= raw))


def _range(values: Sequence[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    if high - low < 1e-9:
        low, high = low - 1.0, high + 1.0
    pad = 0.08 * (high - low)
    return low - pad, high + pad


def plot_image(
    test: dict[str, Any], language: str, width: int = 1600, height: int = 620
) -> QImage | None:
    """A test's series painted: the setpoint written (a step line) and the measured power
    over time, the test's moments as marked vertical lines, axes and legend in the report's
    language. None when the test kept no series."""
    series = test.get("series") or {}
    times = series.get("t_s") or []
    measured = series.get("measured_kw") or []
    setpoint = series.get("setpoint_kw") or []
    if not times:
        return None
    powers = [v for v in (*measured, *setpoint) if v is not None] or [0.0]
    t_low, t_high = 0.0, max(max(times), 1.0) * 1.04
    p_low, p_high = _range([*powers, 0.0])
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("#ffffff"))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    font = QFont("Sans Serif")
    font.setPixelSize(22)
    painter.setFont(font)
    area = QRectF(110, 60, width - 180, height - 150)

    def at(t: float, p: float) -> QPointF:
        x = area.left() + (t - t_low) / (t_high - t_low) * area.width()
        y = area.bottom() - (p - p_low) / (p_high - p_low) * area.height()
        return QPointF(x, y)

    grid = QPen(QColor("#d0d0d0"), 1)
    text_pen = QPen(QColor(INK), 1)
    step = _nice_step(p_high - p_low)
    tick = math.ceil(p_low / step) * step
    while tick <= p_high:
        painter.setPen(grid)
        painter.drawLine(at(t_low, tick), at(t_high, tick))
        painter.setPen(text_pen)
        label = QRectF(0, at(t_low, tick).y() - 14, area.left() - 12, 28)
        painter.drawText(
            label, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, f"{tick:g}"
        )
        tick += step
    step = _nice_step(t_high - t_low)
    tick = 0.0
    while tick <= t_high:
        painter.setPen(grid)
        painter.drawLine(at(tick, p_low), at(tick, p_high))
        painter.setPen(text_pen)
        label = QRectF(at(tick, p_low).x() - 50, area.bottom() + 6, 100, 28)
        painter.drawText(label, Qt.AlignmentFlag.AlignCenter, f"{tick:g}")
        tick += step
    painter.setPen(QPen(QColor(INK), 2))
    painter.drawRect(area)
    painter.drawText(
        QRectF(area.left(), height - 50, area.width(), 40),
        Qt.AlignmentFlag.AlignCenter,
        _pick(PLOT_TEXT["time"], language),
    )
    painter.save()
    painter.translate(28, area.center().y())
    painter.rotate(-90)
    painter.drawText(
        QRectF(-200, -16, 400, 32),
        Qt.AlignmentFlag.AlignCenter,
        _pick(PLOT_TEXT["power"], language),
    )
    painter.restore()
    for i, (event, moment) in enumerate((test.get("events") or {}).items()):
        painter.setPen(QPen(QColor(MARK_INK), 2, Qt.PenStyle.DashLine))
        painter.drawLine(at(moment, p_low), at(moment, p_high))
        name = _pick(PLOT_TEXT.get(event, (event, event)), language)
        top = at(moment, p_high) + QPointF(0, 6 + 28 * i)  # marks close together stack
        if top.x() > area.center().x():  # a mark on the right half: its name to its left
            box, align = QRectF(top.x() - 406, top.y(), 400, 28), Qt.AlignmentFlag.AlignRight
        else:
            box, align = QRectF(top.x() + 6, top.y(), 400, 28), Qt.AlignmentFlag.AlignLeft
        painter.drawText(box, align | Qt.AlignmentFlag.AlignVCenter, name)
    setpoint_path = QPainterPath()
    last: float | None = None
    for t, value in zip(times, setpoint, strict=False):
        if value is None:
            continue
        if last is None:
            setpoint_path.moveTo(at(t, value))
        else:
            setpoint_path.lineTo(at(t, last))
            setpoint_path.lineTo(at(t, value))
        last = value
    if last is not None:
        setpoint_path.lineTo(at(max(times), last))
    painter.setPen(QPen(QColor(SETPOINT_INK), 3, Qt.PenStyle.DashLine))
    painter.drawPath(setpoint_path)
    points = [(t, v) for t, v in zip(times, measured, strict=False) if v is not None]
    painter.setPen(QPen(QColor(MEASURED_INK), 3))
    for (t0, v0), (t1, v1) in itertools.pairwise(points):
        painter.drawLine(at(t0, v0), at(t1, v1))
    painter.setBrush(QColor(MEASURED_INK))
    for t, v in points:
        painter.drawEllipse(at(t, v), 5, 5)
    legend = QRectF(area.left(), 10, area.width(), 40)
    painter.setPen(QPen(QColor(SETPOINT_INK), 3, Qt.PenStyle.DashLine))
    painter.drawLine(QPointF(legend.left(), 30), QPointF(legend.left() + 50, 30))
    painter.setPen(text_pen)
    painter.drawText(QPointF(legend.left() + 60, 38), _pick(PLOT_TEXT["setpoint_kw"], language))
    middle = legend.left() + legend.width() / 2
    painter.setPen(QPen(QColor(MEASURED_INK), 3))
    painter.drawLine(QPointF(middle, 30), QPointF(middle + 50, 30))
    painter.drawEllipse(QPointF(middle + 25, 30), 5, 5)
    painter.setPen(text_pen)
    painter.drawText(QPointF(middle + 60, 38), _pick(PLOT_TEXT["measured_kw"], language))
    painter.end()
    return image


def add_plots(document: QTextDocument, report: dict[str, Any], language: str) -> None:
    """Give the document the images ``report_html`` refers to (``plot:<test>``)."""
    for test in report["tests"]:
        image = plot_image(test, language) if test["name"] in PLOTTED else None
        if image is not None:
            document.addResource(
                QTextDocument.ResourceType.ImageResource, QUrl(f"plot:{test['name']}"), image
            )


def _test_rows(report: dict[str, Any], language: str) -> str:
    e = html.escape
    rows = []
    for test in report["tests"]:
        title = _pick(TEST_TITLES.get(test["name"], (test["name"], test["name"])), language)
        said = "; ".join(finding_text(f, language) for f in test.get("findings", []))
        criteria = "".join(
            f"<li>{e(criterion_text(c, language))}</li>" for c in test.get("criteria", [])
        )
        rows.append(
            f"<tr><td width='62%'><b>{e(title)}</b><br>{e(said)}"
            f"<ul style='margin-top:2px'>{criteria}</ul></td>"
            f"<td>{_verdict(test['passed'], language)}<br>{test['duration_s']:g} s</td></tr>"
        )
    return "".join(rows)


def _plots(report: dict[str, Any], language: str) -> str:
    parts = []
    for test in report["tests"]:
        if test["name"] not in PLOTTED or not (test.get("series") or {}).get("t_s"):
            continue
        title = _pick(PLOT_TEXT[test["name"]], language)
        parts.append(
            f"<p><b>{html.escape(title)}</b><br>"
            f"<img src='plot:{test['name']}' width='640' height='248'></p>"
        )
    if not parts:
        return ""
    return f"<h3>{_t('plots', language)}</h3>" + "".join(parts)


def _unverified(profile: dict[str, Any], report: dict[str, Any], language: str) -> str:
    e = html.escape
    none = _t("unverified_none", language)
    everything = ", ".join(profile.get("unverified_registers", [])) or none
    power = ", ".join(profile.get("unverified_power", [])) or none
    lines = [
        f"<span style='font-size:7pt'>{e(everything)}</span>",
        e(_t("unverified_power", language).format(power)),
    ]
    if report.get("verified"):
        lines.append(e(_t("verified_now", language).format(", ".join(report["verified"]))))
    if report.get("verification_error"):
        said = _t("verification_error", language).format(report["verification_error"])
        lines.append(f"<span style='color:{BAD}'>{e(said)}</span>")
    return f"<h3>{_t('unverified', language)}</h3><p>{'<br>'.join(lines)}</p>"


def _witness(report: dict[str, Any], language: str) -> str:
    step = next((t for t in report["tests"] if t["name"] == "step"), None)
    step_kw = (step or {}).get("figures", {}).get("step_kw")
    blank = "&nbsp;" * 60
    rows = [
        (_t("witness_name", language), blank),
        (_t("witness_company", language), blank),
    ]
    if step_kw is not None:
        rows.append((_t("witness_instrument", language).format(f"{step_kw:+g}"), blank))
    rows += [
        (_t("signature", language), "<br><br><br>"),
        (_t("date", language), blank),
        (_t("engineer_signature", language) + f" ({html.escape(report['user'])})", "<br><br><br>"),
    ]
    cells = "".join(f"<tr><td width='40%'><b>{k}</b></td><td>{v}</td></tr>" for k, v in rows)
    return (
        f"<h3>{_t('witness', language)}</h3>"
        f"<table border='1' cellspacing='0' cellpadding='6' width='100%'>{cells}</table>"
    )


def report_html(report: dict[str, Any], language: str = "es") -> str:
    """The report as the HTML the PDF is printed from (its plots are ``plot:<test>``
    resources: ``add_plots`` gives them to the document)."""
    e = html.escape
    identity = "".join(
        f"<tr><td>{e(str(k))}</td><td>{e(str(v))}</td></tr>" for k, v in report["identity"].items()
    )
    limits = "".join(
        f"<tr><td>{e(_pick(LIMIT_NAMES.get(k, (k, k)), language))}</td>"
        f"<td align='right'>{_number(v)}</td><td>{e(limit_unit(k))}</td></tr>"
        for k, v in report["limits"].items()
    )
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
<tr><td><b>{_t("report_id", language)}</b></td><td colspan="3">{e(report.get("id", ""))}</td></tr>
</table>
<h3>{_t("profile", language)}</h3>
<p>{e(profile["id"])}: {e(profile["manufacturer"])} {e(profile["model"])}
({_t("registers", language).format(profile["registers"], profile["unverified"])})<br>
{e(profile["source"])}<br>{sources}</p>
<h3>{_t("identity", language)}</h3>
<table border="1" cellspacing="0" cellpadding="3">{identity}</table>
{_unverified(profile, report, language)}
<h3>{_t("tests", language)}</h3>
<table border="1" cellspacing="0" cellpadding="3" width="100%">
<tr><th>{_t("test", language)} · {_t("criterion", language)}: {_t("measured", language)}</th>
<th>{_t("result", language)}</th></tr>
{_test_rows(report, language)}
</table>
{_plots(report, language)}
<h3>{_t("limits", language)}</h3>
<table border="1" cellspacing="0" cellpadding="3">
<tr><th>{_t("limit", language)}</th><th>{_t("value", language)}</th><th>{_t("unit", language)}</th></tr>
{limits}</table>
<h3>{_t("audit", language)}</h3>
<p>#{report["audit_head_seq"]} <tt>{e(report["audit_head_hash"])}</tt><br>
{_t("audit_hint", language)}</p>
{_witness(report, language)}
</body></html>"""


def write_pdf(report: dict[str, Any], path: Path, language: str = "es") -> None:
    """Print the report to an A4 PDF with Qt's PDF writer (needs a QGuiApplication)."""
    writer = QPdfWriter(str(path))
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setPageMargins(QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter)
    writer.setTitle(f"{_t('title', language)}: {report['site_id']} / {report['device']}")
    writer.setCreator(report["software"])
    document = QTextDocument()
    add_plots(document, report, language)
    document.setHtml(report_html(report, language))
    document.print_(writer)  # lays the text out on the writer's pages, at its resolution
    del writer  # the file is complete only once the writer is gone
