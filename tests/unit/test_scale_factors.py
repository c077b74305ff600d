"""Live scale factors: the codec applies the sample's exponent, an unusable one makes the value
missing and refuses to encode, the planner reads a value and its scale factor in one request,
and the loader refuses a scale factor or a rating that names no usable register."""

from __future__ import annotations

from typing import Any

import pytest

from bessai.drivers.codec import CodecError, RegisterCodec, usable_sf
from bessai.drivers.planner import ReadPlan
from bessai.drivers.profile import Connection, Profile, Register, RegisterType, Table
from bessai.drivers.profile_loader import ProfileError, parse_profile


def _codec(type_: str = "i16", **kw: Any) -> RegisterCodec:
    reg = Register(
        name="w",
        table=Table.HOLDING,
        address=0,
        type=RegisterType(type_),
        scale_factor="w_sf",
        **kw,
    )
    return RegisterCodec(reg, Connection())


@pytest.mark.parametrize(
    ("raw", "exponent"),
    [
        (0, 0),
        (-2, -2),
        (10, 10),
        (-10, -10),
        (0xFFFE, -2),
        (-32768, None),
        (0x8000, None),
        (11, None),
        (-11, None),
        (None, None),
        (1.5, None),
        ("x", None),
    ],
)
def test_a_scale_factor_is_an_exponent_from_minus_ten_to_ten(
    raw: Any, exponent: int | None
) -> None:
    assert usable_sf(raw) == exponent


def test_the_value_follows_the_exponent_of_its_own_sample() -> None:
    codec = _codec(scale=0.001, unit="kW")  # W in kW
    words = [(-150) & 0xFFFF]
    assert codec.decode(words, 1) == pytest.approx(-1.5)
    assert codec.decode(words, 2) == pytest.approx(-15.0)
    assert codec.decode(words, -1) == pytest.approx(-0.015)
    # No exponent, or one out of range: the value is unknown, not raw.
    assert codec.decode(words, None) is None
    assert codec.decode(words, 11) is None
    # A sentinel stays a sentinel whatever the exponent.
    assert _codec(not_available=[0x8000]).decode([0x8000], 0) is None


def test_a_write_is_encoded_with_the_live_exponent_or_not_at_all() -> None:
    codec = _codec()  # InWRte in % at InOutWRte_SF
    assert codec.encode(-30.0, sf=-2) == [(-3000) & 0xFFFF]
    assert codec.encode(-30.0, sf=-1) == [(-300) & 0xFFFF]
    with pytest.raises(CodecError, match="scale factor w_sf reads None"):
        codec.encode(30.0, sf=None)
    with pytest.raises(CodecError, match="outside i16"):
        codec.encode(400.0, sf=-2)


def test_a_register_without_a_scale_factor_ignores_one() -> None:
    plain = RegisterCodec(
        Register(name="p", table=Table.HOLDING, address=0, type=RegisterType.U16, scale=0.1),
        Connection(),
    )
    assert plain.decode([123], 5) == pytest.approx(12.3)
    assert plain.encode(12.3, sf=5) == [123]


def _profile(registers: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "id": "t",
        "manufacturer": "m",
        "model": "m",
        "source": "test",
        "registers": [{"table": "holding", **r} for r in registers],
        **extra,
    }


VALUE = {"name": "w", "address": 40100, "type": "i16", "scale_factor": "w_sf"}
SF = {"name": "w_sf", "address": 40160, "type": "i16"}


def test_the_planner_reads_a_value_with_its_scale_factor_across_a_gap() -> None:
    other = {"name": "far", "address": 40130, "type": "u16"}
    profile = parse_profile(_profile([VALUE, other, SF]), "t")
    plan = ReadPlan.for_profile(profile)
    # 40100 and 40160 are 59 words apart (max_gap 8), yet one request carries both.
    assert [(b.address, b.count) for b in plan.blocks] == [(40100, 61)]
    # Asked for the value alone, the plan brings its scale factor along.
    only = ReadPlan.for_profile(profile, names=["w"])
    assert sorted(r.name for b in only.blocks for r in b.registers) == ["w", "w_sf"]


def test_a_value_and_its_scale_factor_further_apart_than_a_request_are_two_requests() -> None:
    far_sf = {**SF, "address": 40400}
    plan = ReadPlan.for_profile(parse_profile(_profile([VALUE, far_sf]), "t"))
    assert [(b.address, b.count) for b in plan.blocks] == [(40100, 1), (40400, 1)]


@pytest.mark.parametrize(
    ("registers", "extra", "path", "reason"),
    [
        ([VALUE], {}, "$.registers[0].scale_factor", "no register named 'w_sf'"),
        ([VALUE, {**SF, "type": "u32"}], {}, "$.registers[0].scale_factor", "must be i16"),
        ([VALUE, {**SF, "scale": 0.1}], {}, "$.registers[0].scale_factor", "itself be unscaled"),
        (
            [{**VALUE, "type": "string", "count": 2}, SF],
            {},
            "$.registers[0].scale_factor",
            "takes no scale factor",
        ),
        (
            [
                VALUE,
                SF,
                {"name": "c", "address": 1, "type": "i16", "access": "rw", "min": -100, "max": 100},
                {"name": "d", "address": 2, "type": "i16", "access": "rw", "min": -100, "max": 100},
            ],
            {
                "control": {
                    "method": "window",
                    "charge_power": "c",
                    "discharge_power": "d",
                    "rated_power_kw": 10,
                    "rated_power": "wchamax",
                }
            },
            "$.control.rated_power",
            "no register named 'wchamax'",
        ),
    ],
    ids=["missing", "not i16", "scaled", "string", "rating"],
)
def test_a_scale_factor_or_rating_naming_no_usable_register_is_refused(
    registers: list[dict[str, Any]], extra: dict[str, Any], path: str, reason: str
) -> None:
    with pytest.raises(ProfileError) as info:
        parse_profile(_profile(registers, **extra), "sf.json")
    assert info.value.path == path
    assert reason in info.value.reason
    assert str(info.value).startswith(f"sf.json: {path}: ")


def test_warnings_are_part_of_the_profile() -> None:
    profile: Profile = parse_profile(
        _profile([VALUE, SF], warnings=["model 802 at 40100 could not be read whole"]), "t"
    )
    assert profile.warnings == ["model 802 at 40100 could not be read whole"]
