"""How numbers read on the screen: no "-0.0", a dead band around zero power, durations."""

from __future__ import annotations

DEADBAND_MIN_KW = 0.5
DEADBAND_FRACTION = 0.005  # of the rating: meter noise at rest is not "discharging"


def deadband_kw(rated_kw: float | None) -> float:
    """Power within this of zero reads as zero (idle)."""
    return max(DEADBAND_MIN_KW, DEADBAND_FRACTION * (rated_kw or 0.0))


def fmt(value: float | None, digits: int = 1, signed: bool = False) -> str:
    """A number with ``digits`` decimals; "--" when missing; zero never carries a sign."""
    if value is None or value != value:
        return "--"
    if round(value, digits) == 0:
        return f"{0.0:.{digits}f}"
    return f"{value:{'+' if signed else ''}.{digits}f}"


def power_text(value_kw: float | None, deadband: float = 0.0) -> str:
    """Signed power (+ discharge), zero inside the dead band."""
    if value_kw is not None and abs(value_kw) < deadband:
        value_kw = 0.0
    return fmt(value_kw, 1, signed=True)


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "--"
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min {rest % 60:02d} s"
