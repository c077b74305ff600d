"""Codec: every type in every byte/word order with scale and offset; sentinels are missing values."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bessai.drivers.codec import CodecError, RegisterCodec
from bessai.drivers.profile import Connection, Register, RegisterType, Table

ORDERS = [("big", "big"), ("big", "little"), ("little", "big"), ("little", "little")]
RANGES = {
    "u16": (0, 2**16 - 1),
    "i16": (-(2**15), 2**15 - 1),
    "u32": (0, 2**32 - 1),
    "i32": (-(2**31), 2**31 - 1),
    "u64": (0, 2**64 - 1),
    "i64": (-(2**63), 2**63 - 1),
}


def codec(
    type_: str, byte_order: str = "big", word_order: str = "big", **kw: object
) -> RegisterCodec:
    reg = Register(name="x", table=Table.HOLDING, address=0, type=RegisterType(type_), **kw)  # type: ignore[arg-type]
    return RegisterCodec(reg, Connection(byte_order=byte_order, word_order=word_order))  # type: ignore[arg-type]


@pytest.mark.parametrize(("byte_order", "word_order"), ORDERS)
@pytest.mark.parametrize("type_", sorted(RANGES))
@given(data=st.data())
def test_integer_round_trip(
    type_: str, byte_order: str, word_order: str, data: st.DataObject
) -> None:
    low, high = RANGES[type_]
    raw = data.draw(st.integers(low, high))
    c = codec(type_, byte_order, word_order)
    words = c.encode(float(raw)) if abs(raw) < 2**53 else None
    assume(words is not None)
    assert words is not None
    assert all(0 <= w <= 0xFFFF for w in words)
    assert len(words) == c.words
    assert c.decode(words) == raw


@pytest.mark.parametrize(("byte_order", "word_order"), ORDERS)
@given(
    value=st.floats(-1e6, 1e6, allow_nan=False),
    scale=st.sampled_from([0.001, 0.01, 0.1, 1.0, -0.001, 10.0]),
    offset=st.sampled_from([0.0, -40.0, 273.15]),
)
def test_scaled_i32_round_trip_within_one_step(
    byte_order: str, word_order: str, value: float, scale: float, offset: float
) -> None:
    c = codec("i32", byte_order, word_order, scale=scale, offset=offset)
    assume(abs((value - offset) / scale) < 2**31 - 1)
    decoded = c.decode(c.encode(value))
    assert isinstance(decoded, float)
    assert abs(decoded - value) <= abs(scale) / 2 + 1e-9 * max(1.0, abs(value))


@pytest.mark.parametrize(("byte_order", "word_order"), ORDERS)
@pytest.mark.parametrize("type_", ["f32", "f64"])
@given(value=st.floats(-(2.0**100), 2.0**100, allow_nan=False, allow_infinity=False, width=32))
def test_float_round_trip(type_: str, byte_order: str, word_order: str, value: float) -> None:
    c = codec(type_, byte_order, word_order)
    assert c.decode(c.encode(value)) == pytest.approx(value, rel=1e-7, abs=1e-30)


@pytest.mark.parametrize(("byte_order", "word_order"), ORDERS)
@given(text=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=16))
def test_string_round_trip(byte_order: str, word_order: str, text: str) -> None:
    c = codec("string", byte_order, word_order, count=8)
    assert c.decode(c.encode(text)) == text


def test_known_vectors_match_vendor_conventions() -> None:
    # 1.5 as f32 is 0x3FC00000: SolarEdge sends the low word first.
    assert codec("f32", "big", "little").decode([0x0000, 0x3FC0]) == 1.5
    assert codec("f32", "big", "big").decode([0x3FC0, 0x0000]) == 1.5
    # Huawei battery power (W, positive = charging) negated into kW discharging.
    assert codec("i32", scale=-0.001).decode([0xFFFF, 0x3CB0]) == pytest.approx(50.0)
    assert codec("i16").decode([0xFFFE]) == -2
    assert codec("u16", "little").decode([0x3412]) == 0x1234
    assert codec("u64").decode([0, 0, 1, 0]) == 65536


@pytest.mark.parametrize(
    ("type_", "sentinel", "words"),
    [
        ("u16", 0xFFFF, [0xFFFF]),
        ("i16", 0x7FFF, [0x7FFF]),
        ("i16", 0x8000, [0x8000]),
        ("u32", 0xFFFFFFFF, [0xFFFF, 0xFFFF]),
        ("i32", 0x80000000, [0x8000, 0x0000]),
    ],
)
def test_not_available_sentinel_decodes_to_none(
    type_: str, sentinel: int, words: list[int]
) -> None:
    assert codec(type_, not_available=[sentinel], scale=0.1).decode(words) is None
    assert codec(type_, scale=0.1).decode(words) is not None


def test_nan_and_infinity_decode_to_none() -> None:
    nan_words = list(struct.unpack(">HH", struct.pack(">f", math.nan)))
    inf_words = list(struct.unpack(">HH", struct.pack(">f", math.inf)))
    assert codec("f32").decode(nan_words) is None
    assert codec("f32").decode(inf_words) is None


def test_encode_refuses_values_out_of_range_with_the_reason() -> None:
    with pytest.raises(CodecError, match="outside u16 range"):
        codec("u16").encode(70000.0)
    with pytest.raises(CodecError, match="outside i16 range"):
        codec("i16", scale=0.1).encode(5000.0)
    with pytest.raises(CodecError, match="not a finite number"):
        codec("i32").encode(math.nan)
    with pytest.raises(CodecError, match="do not fit"):
        codec("string", count=2).encode("TOO LONG")


def test_wrong_word_count_is_an_error_not_a_number() -> None:
    with pytest.raises(CodecError, match="expected 2 words"):
        codec("u32").decode([1])


def test_a_float_sentinel_is_matched_by_its_bit_pattern() -> None:
    """SolarEdge sends -FLT_MAX (0xFF7FFFFF) for a missing battery, low word first."""
    reg = Register(
        name="soe", table=Table.HOLDING, address=0, type=RegisterType.F32,
        not_available=[0xFF7FFFFF],
    )  # fmt: skip
    codec = RegisterCodec(reg, Connection(word_order="little"))
    assert codec.decode([0xFFFF, 0xFF7F]) is None
    assert codec.decode(codec.encode(-3.0e38)) == pytest.approx(-3.0e38)
    assert codec.decode(codec.encode(55.5)) == pytest.approx(55.5)
