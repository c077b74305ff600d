"""The core's alarm catalogue: every alarm the gateway can raise, in one place.

``DEVICE_ALARMS`` are defined once per controlled battery's controller (the
same ids serve every device today, the detail names which); the others are
the site's. Texts are Spanish and English; classes and priorities follow
ISA-18.2 as in ``alarms.py``.
"""

from __future__ import annotations

from bessai.core.alarms.manager import AlarmClass, AlarmDefinition, Priority

DEVICE_ALARMS = [
    AlarmDefinition(
        "comms_lost",
        AlarmClass.COMMS,
        Priority.HIGH,
        "Sin comunicación con el equipo",
        "No communication with the device",
    ),
    AlarmDefinition(
        "data_stale", AlarmClass.COMMS, Priority.MEDIUM, "Datos desactualizados", "Stale data"
    ),
    AlarmDefinition(
        "battery_temp_high",
        AlarmClass.LIMIT,
        Priority.MEDIUM,
        "Temperatura de batería alta",
        "Battery temperature high",
        raise_at=40.0,
        clear_at=38.0,
        on_delay_s=2.0,
    ),
    AlarmDefinition(
        "safety_trip", AlarmClass.TRIP, Priority.CRITICAL, "Disparo de protección", "Safety trip"
    ),
    AlarmDefinition(
        "soc_low",
        AlarmClass.LIMIT,
        Priority.LOW,
        "SoC bajo",
        "SoC low",
        raise_at=5.0,
        clear_at=8.0,
        high=False,
    ),
    AlarmDefinition(
        "soc_high",
        AlarmClass.LIMIT,
        Priority.LOW,
        "SoC alto",
        "SoC high",
        raise_at=95.0,
        clear_at=92.0,
    ),
    AlarmDefinition(
        "estop", AlarmClass.TRIP, Priority.CRITICAL, "Parada de emergencia", "Emergency stop"
    ),
    AlarmDefinition(
        "write_failed",
        AlarmClass.DEVICE_FAULT,
        Priority.HIGH,
        "Escritura de consigna fallida",
        "Setpoint write failed",
    ),
    AlarmDefinition(
        "intrusion_lockout",
        AlarmClass.INTRUSION,
        Priority.CRITICAL,
        "Bloqueo por intrusión",
        "Intrusion lockout",
    ),
    AlarmDefinition(
        "device_alarm", AlarmClass.DEVICE_FAULT, Priority.HIGH, "Alarma del equipo", "Device alarm"
    ),
    AlarmDefinition(
        "measurement_invalid",
        AlarmClass.DEVICE_FAULT,
        Priority.HIGH,
        "Medición no válida: potencia en cero",
        "Measurement not valid: power held at zero",
    ),
    AlarmDefinition(
        "battery_interlock",
        AlarmClass.TRIP,
        Priority.HIGH,
        "Batería (BMS) sin valores válidos: potencia en cero",
        "Battery (BMS) not trusted: power held at zero",
    ),
    AlarmDefinition(
        "dispatch_fallback",
        AlarmClass.SYSTEM,
        Priority.MEDIUM,
        "Despacho automático por reglas de respaldo (modelo no disponible)",
        "Auto dispatch on the fallback rules (model not usable)",
    ),
]


#: The plant's own alarms (site-wide): the site delivers less than asked, the POI meter's
#: reading is not trusted.
PLANT_ALARMS = [
    AlarmDefinition(
        "site_undelivered",
        AlarmClass.LIMIT,
        Priority.MEDIUM,
        "El sitio entrega menos de lo pedido",
        "The site delivers less than asked",
    ),
    AlarmDefinition(
        "poi_meter_unknown",
        AlarmClass.COMMS,
        Priority.HIGH,
        "Medidor del punto de conexión sin lectura válida",
        "POI meter reading not trusted",
    ),
]


#: The wall clock jumped (NTP after a boot on a saved time): records are stamped anew,
#: durations are not affected.
CLOCK_STEPPED = AlarmDefinition(
    "clock_stepped",
    AlarmClass.SYSTEM,
    Priority.MEDIUM,
    "El reloj del sistema saltó",
    "The wall clock stepped",
)


INTRUSION_ALERT = AlarmDefinition(
    "intrusion_alert",
    AlarmClass.INTRUSION,
    Priority.HIGH,
    "Tráfico Modbus anómalo (posible intrusión)",
    "Anomalous Modbus traffic (possible intrusion)",
)

OUTBOX_FULL = AlarmDefinition(
    "outbox_full",
    AlarmClass.SYSTEM,
    Priority.MEDIUM,
    "Buzón de envío lleno: se descartan muestras antiguas",
    "Outbox full: oldest samples dropped",
)


STORE_FAILED = AlarmDefinition(
    "store_failed",
    AlarmClass.SYSTEM,
    Priority.HIGH,
    "Falla de escritura en disco (DATA_DIR): registros retenidos en memoria",
    "Disk store write failing (DATA_DIR): records held in memory",
)


AUDIT_CHAIN_SHORT = AlarmDefinition(
    "audit_chain_short",
    AlarmClass.SYSTEM,
    Priority.CRITICAL,
    "Registro de auditoría más corto que su ancla: borrado o retrocedido",
    "Audit trail shorter than its anchor: deleted or rolled back",
)


STORE_REPLACED = AlarmDefinition(
    "store_replaced",
    AlarmClass.SYSTEM,
    Priority.MEDIUM,
    "Archivo de datos dañado: apartado y reemplazado por uno nuevo",
    "Corrupt data file moved aside and replaced by a fresh one",
)


DISPATCH_MODEL_UNAVAILABLE = AlarmDefinition(
    "dispatch_model_unavailable",
    AlarmClass.SYSTEM,
    Priority.MEDIUM,
    "Modelo de despacho no utilizable: se usan las reglas",
    "Dispatch model not usable: rules in use",
)


SHIPPED_FILE_CHANGED = AlarmDefinition(
    "shipped_file_changed",
    AlarmClass.SYSTEM,
    Priority.HIGH,
    "Archivo del paquete modificado (modelo, perfil o traducción): rechazado",
    "Shipped file changed (model, profile or translation): refused",
)


SITE_ALARMS = [
    INTRUSION_ALERT,
    OUTBOX_FULL,
    STORE_FAILED,
    AUDIT_CHAIN_SHORT,
    STORE_REPLACED,
    DISPATCH_MODEL_UNAVAILABLE,
    SHIPPED_FILE_CHANGED,
    CLOCK_STEPPED,
]
