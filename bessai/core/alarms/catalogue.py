"""The core's alarm catalogue: every alarm the gateway can raise, in one place.

``DEVICE_ALARMS`` are defined once per controlled battery's controller (the
same ids serve every device today, the detail names which); the others are
the site's. Each carries its words in English (the screen translates them
with Qt: packaging/i18n/make_ts.py); classes and priorities follow ISA-18.2
as in ``manager.py``. An alarm about one run alone (``outlives_restart=False``)
is ended by a restart rather than restored.
"""

from __future__ import annotations

from bessai.core.alarms.manager import AlarmClass, AlarmDefinition, Priority

DEVICE_ALARMS = [
    AlarmDefinition(
        "comms_lost",
        AlarmClass.COMMS,
        Priority.HIGH,
        "No communication with the device",
    ),
    AlarmDefinition("data_stale", AlarmClass.COMMS, Priority.MEDIUM, "Stale data"),
    AlarmDefinition(
        "battery_temp_high",
        AlarmClass.LIMIT,
        Priority.MEDIUM,
        "Battery temperature high",
        raise_at=40.0,
        clear_at=38.0,
        on_delay_s=2.0,
    ),
    AlarmDefinition("safety_trip", AlarmClass.TRIP, Priority.CRITICAL, "Safety trip"),
    AlarmDefinition(
        "soc_low",
        AlarmClass.LIMIT,
        Priority.LOW,
        "SoC low",
        raise_at=5.0,
        clear_at=8.0,
        high=False,
    ),
    AlarmDefinition(
        "soc_high",
        AlarmClass.LIMIT,
        Priority.LOW,
        "SoC high",
        raise_at=95.0,
        clear_at=92.0,
    ),
    AlarmDefinition("estop", AlarmClass.TRIP, Priority.CRITICAL, "Emergency stop"),
    AlarmDefinition(
        "write_failed",
        AlarmClass.DEVICE_FAULT,
        Priority.HIGH,
        "Setpoint write failed",
    ),
    AlarmDefinition(
        "intrusion_lockout",
        AlarmClass.INTRUSION,
        Priority.CRITICAL,
        "Intrusion lockout",
    ),
    AlarmDefinition("device_alarm", AlarmClass.DEVICE_FAULT, Priority.HIGH, "Device alarm"),
    AlarmDefinition(
        "measurement_invalid",
        AlarmClass.DEVICE_FAULT,
        Priority.HIGH,
        "Measurement not valid: power held at zero",
    ),
    AlarmDefinition(
        "battery_interlock",
        AlarmClass.TRIP,
        Priority.HIGH,
        "Battery (BMS) not trusted: power held at zero",
    ),
    AlarmDefinition(
        "dispatch_fallback",
        AlarmClass.SYSTEM,
        Priority.MEDIUM,
        "Auto dispatch on the fallback rules (model not usable)",
        outlives_restart=False,
    ),
]


#: The plant's own alarms (site-wide): the site delivers less than asked, the POI meter's
#: reading is not trusted.
PLANT_ALARMS = [
    AlarmDefinition(
        "site_undelivered",
        AlarmClass.LIMIT,
        Priority.MEDIUM,
        "The site delivers less than asked",
    ),
    AlarmDefinition(
        "poi_meter_unknown",
        AlarmClass.COMMS,
        Priority.HIGH,
        "POI meter reading not trusted",
    ),
]


#: The wall clock jumped (NTP after a boot on a saved time): records are stamped anew,
#: durations are not affected.
CLOCK_STEPPED = AlarmDefinition(
    "clock_stepped",
    AlarmClass.SYSTEM,
    Priority.MEDIUM,
    "The wall clock stepped",
    outlives_restart=False,
)


INTRUSION_ALERT = AlarmDefinition(
    "intrusion_alert",
    AlarmClass.INTRUSION,
    Priority.HIGH,
    "Anomalous Modbus traffic (possible intrusion)",
)

OUTBOX_FULL = AlarmDefinition(
    "outbox_full",
    AlarmClass.SYSTEM,
    Priority.MEDIUM,
    "Outbox full: oldest samples dropped",
)


STORE_FAILED = AlarmDefinition(
    "store_failed",
    AlarmClass.SYSTEM,
    Priority.HIGH,
    "Disk store write failing (DATA_DIR): records held in memory",
    outlives_restart=False,
)


AUDIT_CHAIN_SHORT = AlarmDefinition(
    "audit_chain_short",
    AlarmClass.SYSTEM,
    Priority.CRITICAL,
    "Audit trail shorter than its anchor: deleted or rolled back",
    outlives_restart=False,
)


STORE_REPLACED = AlarmDefinition(
    "store_replaced",
    AlarmClass.SYSTEM,
    Priority.MEDIUM,
    "Corrupt data file moved aside and replaced by a fresh one",
    outlives_restart=False,
)


DISPATCH_MODEL_UNAVAILABLE = AlarmDefinition(
    "dispatch_model_unavailable",
    AlarmClass.SYSTEM,
    Priority.MEDIUM,
    "Dispatch model not usable: rules in use",
)


SHIPPED_FILE_CHANGED = AlarmDefinition(
    "shipped_file_changed",
    AlarmClass.SYSTEM,
    Priority.HIGH,
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
