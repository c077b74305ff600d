"""Write bessai/resources/translations/bessai_es.ts from the table below, then compile it.

Every string the GUI passes to ``t()`` (context ``bessai``) needs a line
here; a test checks that none is missing. Run: ``python packaging/i18n/make_ts.py``
(it calls ``pyside6-lrelease`` to produce the .qm the app loads).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from xml.sax.saxutils import escape

SPANISH = {
    "Access": "Acceso",
    "Acknowledge": "Reconocer",
    "Action": "Acción",
    "Active alarms": "Alarmas activas",
    "Active power": "Potencia activa",
    "Add user (admin)": "Agregar usuario (admin)",
    "Address": "Dirección",
    "After the safety guard: {0:+.1f} kW": "Tras la protección: {0:+.1f} kW",
    "Alarm": "Alarma",
    "Alarm history": "Historial de alarmas",
    "Alarms": "Alarmas",
    "Alarms and events": "Alarmas y eventos",
    "Allowed now: {0:+.1f} … {1:+.1f} kW (charge … discharge)": "Permitido ahora: {0:+.1f} … {1:+.1f} kW (carga … descarga)",
    "Apply…": "Aplicar…",
    "Audit trail": "Registro de auditoría",
    "Auto": "Automático",
    "Battery temperature": "Temperatura de batería",
    "Battery temperature (°C)": "Temperatura de batería (°C)",
    "Cancel": "Cancelar",
    "Charts": "Gráficos",
    "Cloud outbox": "Buzón hacia la nube",
    "Comment": "Comentario",
    "Comment (optional)": "Comentario (opcional)",
    "Confirm setpoint": "Confirmar consigna",
    "Control": "Control",
    "Dark": "Oscuro",
    "Detail": "Detalle",
    "Devices": "Equipos",
    "DOWN": "CAÍDO",
    "E-STOP": "PARADA",
    "EMERGENCY STOP LATCHED": "PARADA DE EMERGENCIA ENCLAVADA",
    "Event": "Evento",
    "First out": "Primera",
    "Follow": "Seguir",
    "Grid": "Red",
    "Hold to confirm": "Mantener para confirmar",
    "Intrusion score": "Puntaje de intrusión",
    "Language": "Idioma",
    "Light": "Claro",
    "Log in": "Ingresar",
    "Log in as an operator to command the battery": "Ingrese como operador para comandar la batería",
    "Log out": "Salir",
    "Manual": "Manual",
    "Manual lease: {0} left": "Consigna manual: quedan {0}",
    "Mode": "Modo",
    "Name": "Nombre",
    "New user": "Nuevo usuario",
    "No communication with: {0}": "Sin comunicación con: {0}",
    "No device with a setpoint register: control is not available.": "Ningún equipo tiene registro de consigna: el control no está disponible.",
    "Outcome": "Resultado",
    "Overview": "Resumen",
    "PIN or password": "PIN o contraseña",
    "PV": "FV",
    "Pack current": "Corriente del banco",
    "Pack voltage": "Tensión del banco",
    "Pause": "Pausa",
    "Power and setpoint (kW)": "Potencia y consigna (kW)",
    "Priority": "Prioridad",
    "Raised": "Activada",
    "Raw words": "Palabras",
    "Read only": "Solo lectura",
    "Reset E-stop (engineer)": "Reponer parada (ingeniero)",
    "Setpoint": "Consigna",
    "Settings": "Ajustes",
    "Setpoint applied: {0:+.1f} kW": "Consigna aplicada: {0:+.1f} kW",
    "Shelve 1 h (engineer)": "Suspender 1 h (ingeniero)",
    "Site": "Sitio",
    "Standby": "Reposo",
    "State": "Estado",
    "State of charge": "Estado de carga",
    "State of charge (%)": "Estado de carga (%)",
    "Theme": "Tema",
    "Time": "Hora",
    "Time to SoC limit at this power: {0}": "Tiempo hasta el límite de SoC a esta potencia: {0}",
    "Unit": "Unidad",
    "User": "Usuario",
    "Users": "Usuarios",
    "Value": "Valor",
    "Write (engineer)": "Escribir (ingeniero)",
    "admin": "administrador",
    "charging": "cargando",
    "discharging": "descargando",
    "engineer": "ingeniero",
    "exceptions": "excepciones",
    "failed": "fallidas",
    "ids": "intrusión",
    "import +, export -": "importación +, exportación -",
    "last sample": "última muestra",
    "link down": "enlace caído",
    "link up": "enlace activo",
    "no baseline yet": "sin línea base aún",
    "no controllable device": "ningún equipo controlable",
    "no data": "sin datos",
    "off: no Pub/Sub topic configured": "apagado: sin tópico de Pub/Sub",
    "oldest": "más antiguo",
    "operator": "operador",
    "polls": "lecturas",
    "power": "potencia",
    "proposal": "propuesta",
    "reconnects": "reconexiones",
    "requests per poll": "peticiones por lectura",
    "setpoint": "consigna",
    "soc": "SoC",
    "temp": "temperatura",
    "timeouts": "sin respuesta",
    "unknown": "desconocido",
    "up": "en línea",
    "viewer": "observador",
    "written by the gateway": "escrita por el gateway",
    "{0:.0f} min ago": "hace {0:.0f} min",
    "{0:.0f} s ago": "hace {0:.0f} s",
    "{0} interlock(s)": "{0} enclavamiento(s)",
    "Auto dispatch: rules (time of use, peak shaving)": "Despacho automático: reglas (horario, recorte de punta)",
    "Auto dispatch: rules — the model is not usable: {0}": "Despacho automático: reglas — el modelo no es utilizable: {0}",
    "Auto dispatch: rules; model {0} in shadow mode (recorded, never written)": "Despacho automático: reglas; modelo {0} en modo sombra (se registra, nunca se escribe)",
    "Auto dispatch: model {0}, rules as fallback": "Despacho automático: modelo {0}, reglas de respaldo",
    "Proposal {0:+.1f} kW": "Propuesta {0:+.1f} kW",
    "guard {0:+.1f} kW ({1})": "protección {0:+.1f} kW ({1})",
    "fallback: {0}": "respaldo: {0}",
    "The model would do {0:+.1f} kW": "El modelo haría {0:+.1f} kW",
    "model": "modelo",
    "rules": "reglas",
    "Inputs: {0} h, SoC {1} %, PV {2} kW, load {3} kW, {4} USD/MWh": "Entradas: {0} h, SoC {1} %, FV {2} kW, consumo {3} kW, costo marginal {4} USD/MWh",
}

ROOT = Path(__file__).resolve().parents[2]
TS = ROOT / "bessai" / "resources" / "translations" / "bessai_es.ts"


def write_ts() -> None:
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        "<!DOCTYPE TS>",
        '<TS version="2.1" language="es_CL">',
        "<context>",
        "    <name>bessai</name>",
    ]
    for source, translation in sorted(SPANISH.items()):
        lines += [
            "    <message>",
            f"        <source>{escape(source)}</source>",
            f"        <translation>{escape(translation)}</translation>",
            "    </message>",
        ]
    lines += ["</context>", "</TS>", ""]
    TS.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    write_ts()
    lrelease = shutil.which("pyside6-lrelease") or str(
        Path(sys.executable).parent / "pyside6-lrelease"
    )
    subprocess.run([lrelease, str(TS), "-qm", str(TS.with_suffix(".qm"))], check=True)
