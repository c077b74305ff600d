"""Decode and encode register words for every profile type, order, scale and offset.

A ``RegisterCodec`` is compiled once per register so that a poll only runs
``struct`` on prepared formats. Declared "not available" sentinels, NaN and
infinity decode to ``None``: a missing value is never presented as a number.
A register scaled by a live scale factor (SunSpec's ``*_SF``) takes the
exponent read in the same sample; without a usable one its value is missing
and nothing is encoded for it.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from typing import Any, Literal

from bessai.drivers.profile import Connection, Register, RegisterType

Value = float | str | None

_STRUCT_CODE: dict[RegisterType, str] = {
    RegisterType.U16: "H",
    RegisterType.I16: "h",
    RegisterType.U32: "I",
    RegisterType.I32: "i",
    RegisterType.U64: "Q",
    RegisterType.I64: "q",
    RegisterType.F32: "f",
    RegisterType.F64: "d",
    RegisterType.ENUM: "H",
    RegisterType.BITFIELD: "H",
    RegisterType.BOOL: "H",
}

_INTEGER_RANGE: dict[str, tuple[int, int]] = {
    "H": (0, 0xFFFF),
    "h": (-0x8000, 0x7FFF),
    "I": (0, 0xFFFF_FFFF),
    "i": (-0x8000_0000, 0x7FFF_FFFF),
    "Q": (0, 0xFFFF_FFFF_FFFF_FFFF),
    "q": (-0x8000_0000_0000_0000, 0x7FFF_FFFF_FFFF_FFFF),
}
_SIGNED = frozenset("hiq")
SF_RANGE = range(-10, 11)


def usable_sf(raw: float | int | str | None) -> int | None:
    """The exponent a scale-factor register's raw value gives, or None: SunSpec's 'not
    implemented' (0x8000 as i16, or as u16), anything outside -10..10, or no reading."""
    if raw is None or isinstance(raw, str) or raw != int(raw):
        return None
    exponent = int(raw)
    if exponent >= 0x8000:  # read as unsigned
        exponent -= 0x10000
    return exponent if exponent in SF_RANGE else None


class CodecError(ValueError):
    """A value that cannot be encoded into (or decoded from) a register."""


class RegisterCodec:
    """Converts between a register's raw words and its engineering value."""

    __slots__ = (
        "_byte_order",
        "_code",
        "_na",
        "_offset",
        "_reverse_words",
        "_scale",
        "_struct",
        "name",
        "scale_factor",
        "type",
        "words",
    )

    def __init__(self, register: Register, connection: Connection) -> None:
        self.name = register.name
        self.type = register.type
        self.words = register.words
        self._scale = register.scale
        self.scale_factor = register.scale_factor
        self._offset = register.offset
        self._na = frozenset(register.not_available)
        self._byte_order: Literal["big", "little"] = connection.byte_order
        self._reverse_words = connection.word_order == "little"
        self._code = _STRUCT_CODE.get(register.type, "")
        self._struct = struct.Struct(">" + self._code) if self._code else None

    def _to_bytes(self, words: Sequence[int], *, numeric: bool) -> bytes:
        ordered = reversed(words) if numeric and self._reverse_words else words
        return b"".join(int(w).to_bytes(2, self._byte_order) for w in ordered)

    def _from_bytes(self, data: bytes, *, numeric: bool) -> list[int]:
        words = [int.from_bytes(data[i : i + 2], self._byte_order) for i in range(0, len(data), 2)]
        if numeric and self._reverse_words:
            words.reverse()
        return words

    def raw(self, words: Sequence[int]) -> int | float:
        """The unscaled number the words hold (for the register table)."""
        if len(words) != self.words:
            raise CodecError(f"{self.name}: expected {self.words} words, got {len(words)}")
        if self._struct is None:
            raise CodecError(f"{self.name}: a {self.type.value} has no numeric raw value")
        if self._byte_order == "big" and self._code in _INTEGER_RANGE:
            # Integers by arithmetic: a struct round trip costs several times more.
            ordered = reversed(words) if self._reverse_words else words
            n = 0
            for w in ordered:
                n = (n << 16) | (int(w) & 0xFFFF)
            if self._code in _SIGNED and n >= 1 << (16 * self.words - 1):
                n -= 1 << (16 * self.words)
            return n
        value: int | float = self._struct.unpack(self._to_bytes(words, numeric=True))[0]
        return value

    def _multiplier(self, sf: int | None) -> float | None:
        if self.scale_factor is None:
            return self._scale
        if sf is None or sf not in SF_RANGE:
            return None
        return self._scale * 10.0**sf

    def decode(self, words: Sequence[int], sf: int | None = None) -> Value:
        """Engineering value of the words, or None for a 'not available' reading (and, for a
        register with a live scale factor, when ``sf`` is not a usable exponent)."""
        if self.type is RegisterType.STRING:
            if len(words) != self.words:
                raise CodecError(f"{self.name}: expected {self.words} words, got {len(words)}")
            return self.text_of(self._to_bytes(words, numeric=False))
        return self.from_raw(self.raw(words), sf)

    @staticmethod
    def text_of(data: bytes) -> str:
        """A text register's value from its bytes: up to the first NUL, ASCII, trimmed."""
        return data.split(b"\x00", 1)[0].decode("ascii", errors="replace").strip()

    @property
    def wire_code(self) -> str | None:
        """The ``struct`` code that reads this register straight from an answer's bytes
        (big-endian bytes, and words unless a number's are reversed), or None."""
        if self._byte_order != "big":
            return None
        if self.type is RegisterType.STRING:
            return f"{2 * self.words}s"
        if self._struct is None or (self._reverse_words and self.words > 1):
            return None
        return self._code

    def from_raw(self, raw: int | float, sf: int | None = None) -> float | None:
        """Engineering value of an unscaled number (as ``raw`` gives it), or None as ``decode``."""
        if isinstance(raw, float):
            if not math.isfinite(raw) or (self._na and self._float_bits(raw) in self._na):
                return None
        elif raw in self._na or (self._na and (raw & _mask(self._code)) in self._na):
            return None
        multiplier = self._scale if self.scale_factor is None else self._multiplier(sf)
        if multiplier is None:
            return None
        return raw * multiplier + self._offset

    def _float_bits(self, value: float) -> int:
        """The IEEE bit pattern of a float, as sentinels are documented (0xFF7FFFFF)."""
        if self._code == "f":
            bits: int = struct.unpack(">I", struct.pack(">f", value))[0]
        else:
            bits = struct.unpack(">Q", struct.pack(">d", value))[0]
        return bits

    def encode(
        self, value: float | str, *, saturate: bool = False, sf: int | None = None
    ) -> list[int]:
        """Words that carry the value; raises CodecError when it does not fit, or when the
        register's live scale factor ``sf`` is not a usable exponent.

        With ``saturate`` an integer out of range is clamped to the type's
        bounds instead, as a device's own measurement would peg.
        """
        if self.type is RegisterType.STRING:
            if not isinstance(value, str):
                raise CodecError(f"{self.name}: expected text, got {value!r}")
            data = value.encode("ascii", errors="strict")
            if len(data) > 2 * self.words:
                raise CodecError(f"{self.name}: {len(data)} bytes do not fit in {self.words} words")
            return self._from_bytes(data.ljust(2 * self.words, b"\x00"), numeric=False)
        if isinstance(value, str) or not math.isfinite(value):
            raise CodecError(f"{self.name}: {value!r} is not a finite number")
        assert self._struct is not None
        multiplier = self._multiplier(sf)
        if multiplier is None:
            raise CodecError(
                f"{self.name}: its scale factor {self.scale_factor} reads {sf}: "
                "not a usable exponent (-10..10), nothing can be encoded"
            )
        scaled = (value - self._offset) / multiplier
        if self._code in ("f", "d"):
            if self._code == "f" and abs(scaled) > 3.4028234663852886e38:
                raise CodecError(f"{self.name}: {value} overflows f32")
            packed = self._struct.pack(scaled)
        else:
            raw = round(scaled)
            low, high = _INTEGER_RANGE[self._code]
            if saturate:
                raw = min(max(raw, low), high)
            if not low <= raw <= high:
                raise CodecError(
                    f"{self.name}: {value} (raw {raw}) is outside {self.type.value} range {low}..{high}"
                )
            packed = self._struct.pack(raw)
        return self._from_bytes(packed, numeric=True)


def _mask(code: str) -> int:
    low, high = _INTEGER_RANGE.get(code, (0, 0))
    return (high - low) if low < 0 else high


class PlainDecoder:
    """Registers' values from the raw numbers one ``struct`` call unpacked from a block.

    The same values as each codec's ``from_raw``, without a call per register
    for the common cases (a poll's hot loop): an integer with no live scale
    factor is ``raw * scale + offset``, or None when it reads a sentinel.
    Text registers (unpacked as bytes) go to ``texts``. ``entries`` are (name,
    index in the unpacked tuple, codec).
    """

    __slots__ = ("_linear", "_other", "_sentinel", "_texts")

    def __init__(self, entries: Sequence[tuple[str, int, RegisterCodec]]) -> None:
        self._linear: list[tuple[str, int, float, float]] = []
        self._sentinel: list[tuple[str, int, float, float, frozenset[int], int]] = []
        self._other: list[tuple[str, int, RegisterCodec]] = []
        self._texts: list[tuple[str, int]] = []
        for name, slot, codec in entries:
            if codec.type is RegisterType.STRING:
                self._texts.append((name, slot))
            elif codec.scale_factor is not None or codec._code not in _INTEGER_RANGE:
                self._other.append((name, slot, codec))
            elif codec._na:
                self._sentinel.append(
                    (name, slot, codec._scale, codec._offset, codec._na, _mask(codec._code))
                )
            else:
                self._linear.append((name, slot, codec._scale, codec._offset))

    def decode_into(
        self,
        raws: Sequence[Any],
        values: dict[str, float | None],
        texts: dict[str, str],
        exponents: dict[str, int | None] | None = None,
    ) -> None:
        """Each register's value into ``values`` (or ``texts``); ``exponents`` are the live
        scale factors."""
        for name, slot, scale, offset in self._linear:
            values[name] = raws[slot] * scale + offset
        for name, slot, scale, offset, na, mask in self._sentinel:
            raw = raws[slot]
            values[name] = None if raw in na or (raw & mask) in na else raw * scale + offset
        for name, slot, codec in self._other:
            sf = None
            if codec.scale_factor is not None and exponents is not None:
                sf = exponents.get(codec.scale_factor)
            values[name] = codec.from_raw(raws[slot], sf)
        for name, slot in self._texts:
            texts[name] = RegisterCodec.text_of(raws[slot])


def compile_codecs(
    registers: Sequence[Register], connection: Connection
) -> dict[str, RegisterCodec]:
    """One codec per register, keyed by name."""
    return {reg.name: RegisterCodec(reg, connection) for reg in registers}
