"""A block decoded in one ``struct`` call gives what each register's codec gives on its own.

For every shipped profile and every block of its read plan, random words (and
the registers' own sentinels, NaN and infinity among them) decode to the same
values and texts through ``ModbusDevice.decode_block`` as through
``RegisterCodec.decode`` one register at a time; a live scale factor too.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bessai.drivers.codec import CodecError, RegisterCodec
from bessai.drivers.device import ModbusDevice, PollResult, TcpEndpoint
from bessai.drivers.planner import ReadBlock
from bessai.drivers.profile import Profile, Register
from bessai.drivers.profile_loader import load_profile, registry_ids

PROFILES = {pid: load_profile(pid) for pid in registry_ids()}
SPECIAL_WORDS = [0x0000, 0x7FFF, 0x8000, 0xFFFF, 0x7F80, 0xFF80, 0x7FC0, 0x0001]


def _one_by_one(
    device: ModbusDevice, block: ReadBlock, words: list[int], sf: int | None
) -> tuple[dict[str, float | None], dict[str, str]]:
    values: dict[str, float | None] = {}
    texts: dict[str, str] = {}
    for reg in block.registers:
        codec: RegisterCodec = device.codecs[reg.name]
        part = words[block.span(reg)]
        try:
            value = codec.decode(part, sf if reg.scale_factor else None)
        except CodecError:
            value = None
        if isinstance(value, str):
            texts[reg.name] = value
        else:
            values[reg.name] = value
    return values, texts


def _words_for(block: ReadBlock, data: st.DataObject) -> list[int]:
    """Random words, with each register's sentinels and special patterns mixed in."""
    words = data.draw(
        st.lists(
            st.one_of(st.integers(0, 0xFFFF), st.sampled_from(SPECIAL_WORDS)),
            min_size=block.count,
            max_size=block.count,
        )
    )
    reg: Register
    for reg in block.registers:
        use_sentinel = data.draw(st.booleans())
        if reg.not_available and use_sentinel:
            sentinel = data.draw(st.sampled_from(reg.not_available))
            start = reg.address - block.address
            width = 16 * reg.words
            raw = sentinel & ((1 << width) - 1)
            chunk = [(raw >> (16 * (reg.words - 1 - i))) & 0xFFFF for i in range(reg.words)]
            words[start : start + reg.words] = chunk
    return words


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return a == b or (math.isnan(a) and math.isnan(b))


@pytest.mark.parametrize("pid", sorted(PROFILES))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), sf=st.one_of(st.none(), st.integers(-12, 12)))
def test_a_block_decodes_as_its_registers_do_one_by_one(
    pid: str, data: st.DataObject, sf: int | None
) -> None:
    profile: Profile = PROFILES[pid]
    device = ModbusDevice("d", profile, TcpEndpoint("127.0.0.1", 1))
    for block in device.plan.blocks:
        words = _words_for(block, data)
        exponents = {reg.scale_factor: sf for reg in block.registers if reg.scale_factor}
        result = PollResult()
        device.decode_block(block, words, result, exponents)
        values, texts = _one_by_one(device, block, words, sf)
        assert result.texts == texts
        assert list(result.values) == list(values)  # the registers' order
        for name, value in values.items():
            assert _same(result.values[name], value), (pid, name, words)
        assert result.words == {r.name: words[block.span(r)] for r in block.registers}


def test_the_plain_numbers_of_the_simulators_profile_take_one_struct_call() -> None:
    device = ModbusDevice("d", PROFILES["sim_bess"], TcpEndpoint("127.0.0.1", 1))
    for block in device.plan.blocks:
        wire = device._wire_layout(block)
        assert wire.rest == ()  # every register of sim_bess is read straight off the wire
        assert wire.unpacker is not None
        raws = wire.unpack([0] * block.count)
        assert len(raws) == len(block.registers)
    short = device.plan.blocks[0]
    assert device._wire_layout(short).unpack([0] * (short.count - 1)) == ()


@pytest.mark.parametrize(
    ("byte_order", "word_order"), [("little", "big"), ("little", "little"), ("big", "little")]
)
def test_swapped_bytes_or_words_go_through_the_codec_with_the_same_values(
    byte_order: str, word_order: str
) -> None:
    base = PROFILES["sim_bess"]
    profile = base.model_copy(
        update={
            "connection": base.connection.model_copy(
                update={"byte_order": byte_order, "word_order": word_order}
            )
        }
    )
    device = ModbusDevice("d", profile, TcpEndpoint("127.0.0.1", 1))
    for block in device.plan.blocks:
        through_codec = {name for name, *_ in device._wire_layout(block).rest}
        for reg in block.registers:
            if byte_order == "little" or (reg.words > 1 and reg.type.value != "string"):
                assert reg.name in through_codec, reg.name
        for pattern in (0x0000, 0x1234, 0x8001, 0xFFFF):
            words = [(pattern + 97 * i) & 0xFFFF for i in range(block.count)]
            result = PollResult()
            device.decode_block(block, words, result)
            values, texts = _one_by_one(device, block, words, None)
            assert result.texts == texts
            assert all(_same(result.values[n], v) for n, v in values.items())
