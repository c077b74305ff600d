"""The safety guard and measurement validity: pure rules over one device's telemetry."""
