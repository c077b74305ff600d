"""Benchmark: primary frequency response on the simulator over loopback.

A gateway in Auto with ``[dispatch] mode = "frequency"`` (dead band ±0.1 Hz,
droop 4 % of the 100 kW rating) polls the simulated battery (every 0.2 s,
control every 0.5 s, the site's defaults but for a 100 kW/s ramp limit) while
the simulator's grid frequency steps. For each step it measures the response
time (step to 90 % of the expected change in the *measured* battery power)
and the droop's accuracy (mean |measured - expected| over 3 s once settled,
in % of the rating), with the frequency noisy (σ 5 mHz, then 20 mHz). The
baseline, in the same run, is the same power step commanded directly as a
Manual setpoint: the ratio is what listening to the frequency adds to the
gateway's own path. Targets: 90 % within 2 s; accuracy within 1 % of the rating.

    python bench/frequency.py
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from argon2 import PasswordHasher

from bessai.core.config.settings import DeviceConfig, DispatchSettings, FrequencySettings
from bessai.core.control.events import ControlMode
from bessai.core.guard.safety import SafetyLimits
from bessai.core.site.gateway import Gateway
from bessai.core.stores.auth import AuthService, Role

RATED_KW = 100.0
DROOP = FrequencySettings(deadband_hz=0.1, droop_pct=4.0, ramp_kw_per_s=100.0)
STEPS_HZ = [49.5, 49.8, 50.3, 50.0, 49.2, 50.0]


def expected_kw(frequency_hz: float) -> float:
    beyond = max(0.0, abs(frequency_hz - 50.0) - DROOP.deadband_hz)
    sign = -1.0 if frequency_hz > 50.0 else 1.0
    return sign * beyond / 50.0 / (DROOP.droop_pct / 100) * RATED_KW


async def response(gw: Gateway, start_kw: float, target_kw: float) -> float:
    """Seconds until the measured power has made 90 % of the change."""
    started = time.monotonic()
    sim = gw.simulators["bess"]
    threshold = start_kw + 0.9 * (target_kw - start_kw)
    rising = target_kw > start_kw
    while True:
        power = sim.model.power_kw
        if (power >= threshold) if rising else (power <= threshold):
            return time.monotonic() - started
        if time.monotonic() - started > 10.0:
            return float("inf")
        await asyncio.sleep(0.005)


async def accuracy(gw: Gateway, target_kw: float) -> float:
    """Mean |measured - expected| over 3 s, in % of the rating (from the samples the gateway reads)."""
    errors: list[float] = []
    for _ in range(30):
        await asyncio.sleep(0.1)
        sample = gw.controller().telemetry.active_power_kw
        if sample is not None:
            errors.append(abs(sample - target_kw))
    return 100.0 * statistics.fmean(errors) / RATED_KW


async def run(noise_hz: float) -> tuple[list[float], list[float], list[float]]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        auth = AuthService(data / "users.db", hasher=PasswordHasher(time_cost=1, memory_cost=8192))
        await auth.add_user("ana", Role.ADMIN, "271828")
        admin = await auth.login("ana", "271828")
        await auth.add_user("olga", Role.OPERATOR, "314159", by=admin)
        gw = Gateway(
            "frequency-bench",
            [DeviceConfig(name="bess", profile="sim_bess", simulated=True, poll_interval_s=0.2)],
            data_dir=data,
            auth=auth,
            limits=SafetyLimits(max_ramp_kw_per_s=100.0),
            dispatch=DispatchSettings(mode="frequency", frequency=DROOP),
            ids_enabled=False,
        )
        await gw.start()
        try:
            olga = await auth.login("olga", "314159")
            sim, ctl = gw.simulators["bess"], gw.controller()
            sim.model.frequency_noise_hz = noise_hz
            await asyncio.sleep(1.0)
            await ctl.set_mode(olga, ControlMode.AUTO)
            await asyncio.sleep(1.0)
            times, errors, baseline = [], [], []
            current = 0.0
            for frequency in STEPS_HZ:
                target = expected_kw(frequency)
                sim.model.grid_frequency_hz = frequency
                times.append(await response(gw, current, target))
                await asyncio.sleep(1.0)
                errors.append(await accuracy(gw, target))
                current = target
            # The baseline: the same power steps as Manual setpoints.
            await ctl.set_mode(olga, ControlMode.MANUAL)
            sim.model.grid_frequency_hz = 50.0
            await ctl.command_setpoint(olga, 0.0)
            await asyncio.sleep(2.0)
            current = 0.0
            for frequency in STEPS_HZ:
                target = expected_kw(frequency)
                await ctl.command_setpoint(olga, target)
                baseline.append(await response(gw, current, target))
                await asyncio.sleep(1.0)
                current = target
            return times, errors, baseline
        finally:
            await gw.stop()


def main() -> int:
    for noise in (0.005, 0.02):
        times, errors, baseline = asyncio.run(run(noise))
        print(f"grid frequency noise σ {noise * 1000:.0f} mHz, steps {STEPS_HZ} Hz:")
        for f, t, e, b in zip(STEPS_HZ, times, errors, baseline, strict=True):
            print(
                f"  {f:.1f} Hz → {expected_kw(f):+6.1f} kW: 90 % in {t:.2f} s "
                f"(Manual setpoint {b:.2f} s, ratio {t / b:.2f}), error {e:.2f} % of rating"
            )
        print(
            f"  median response {statistics.median(times):.2f} s "
            f"(Manual {statistics.median(baseline):.2f} s, ratio "
            f"{statistics.median(times) / statistics.median(baseline):.2f}); "
            f"worst error {max(errors):.2f} % of rating (targets: 2 s, 1 %)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
