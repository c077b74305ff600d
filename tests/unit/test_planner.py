"""Read planning: coalescing limits, gap bridging and splitting after a refused block."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bessai.drivers.planner import ReadPlan
from bessai.drivers.profile import Profile, Register, RegisterType, Table


def _profile(addresses: list[tuple[int, str]], max_regs: int = 125, max_gap: int = 8) -> Profile:
    regs = [
        Register(name=f"r{i}", table=Table.HOLDING, address=a, type=RegisterType(t))
        for i, (a, t) in enumerate(addresses)
    ]
    return Profile(
        id="t",
        manufacturer="m",
        model="m",
        source="test",
        connection={"max_registers_per_request": max_regs, "max_gap": max_gap},  # type: ignore[arg-type]
        registers=regs,
    )


def test_gap_within_limit_is_bridged_and_beyond_it_is_not() -> None:
    plan = ReadPlan.for_profile(_profile([(0, "u16"), (5, "u16"), (20, "u32")], max_gap=8))
    assert [(b.address, b.count) for b in plan.blocks] == [(0, 6), (20, 2)]


def test_request_limit_is_respected() -> None:
    plan = ReadPlan.for_profile(_profile([(i * 2, "u32") for i in range(100)], max_regs=50))
    assert [b.count for b in plan.blocks] == [50, 50, 50, 50]


@given(
    st.lists(st.integers(0, 2000), min_size=1, max_size=60, unique=True),
    st.integers(1, 125),
    st.integers(0, 20),
)
def test_every_register_read_once_within_limits(
    starts: list[int], max_regs: int, max_gap: int
) -> None:
    addresses = sorted({a * 2 for a in starts})
    plan = ReadPlan.for_profile(
        _profile([(a, "u32") for a in addresses], max_regs=max(2, max_regs), max_gap=max_gap)
    )
    seen = [r.address for b in plan.blocks for r in b.registers]
    assert sorted(seen) == addresses
    for block in plan.blocks:
        assert block.count <= max(2, max_regs)


def test_split_halves_then_marks_single_register_unsupported() -> None:
    plan = ReadPlan.for_profile(_profile([(0, "u16"), (1, "u16"), (2, "u16"), (3, "u16")]))
    (block,) = plan.blocks
    halves = plan.split(block, "exception 2")
    assert [(b.address, b.count) for b in halves] == [(0, 2), (2, 2)]
    quarters = plan.split(halves[1], "exception 2")
    assert [(b.address, b.count) for b in quarters] == [(2, 1), (3, 1)]
    assert plan.split(quarters[0], "exception 2") == []
    assert plan.unsupported == {"r2": "exception 2"}
    assert [(b.address, b.count) for b in plan.blocks] == [(0, 2), (3, 1)]


def test_per_register_plan_is_one_request_per_register() -> None:
    profile = _profile([(0, "u16"), (1, "u16"), (2, "u32")])
    assert ReadPlan.per_register(profile).request_count == 3
