"""Read planning: coalesce a profile's registers into as few Modbus requests as allowed.

Registers of one table are grouped into blocks no longer than the device's
request limit, bridging gaps up to ``max_gap`` words. When the device answers
a block with "illegal data address" the block is split and the split is
remembered, down to single registers that are then marked unsupported. A
register scaled by a live scale factor brings that register into the plan,
so that every sample carries the exponents it is decoded with, and the two
share a request whenever one request can hold both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bessai.drivers.profile import Profile, Register, Table


@dataclass(frozen=True)
class ReadBlock:
    """One read request: a table, a start address, a count and what it carries."""

    table: Table
    address: int
    count: int
    registers: tuple[Register, ...]
    unit_id: int | None = None  # None: the device's own

    def span(self, register: Register) -> slice:
        start = register.address - self.address
        return slice(start, start + register.words)


def _partners(registers: Sequence[Register]) -> dict[str, list[Register]]:
    """Each register's scale factor and the registers it scales, among ``registers``."""
    by_name = {r.name: r for r in registers}
    partners: dict[str, list[Register]] = {r.name: [] for r in registers}
    for reg in registers:
        sf = by_name.get(reg.scale_factor or "")
        if sf is not None:
            partners[reg.name].append(sf)
            partners[sf.name].append(reg)
    return partners


def _blocks_for(
    table: Table,
    registers: Sequence[Register],
    max_count: int,
    max_gap: int,
    unit_id: int | None = None,
) -> list[ReadBlock]:
    blocks: list[ReadBlock] = []
    current: list[Register] = []
    start = end = reach = 0
    partners = _partners(registers) if not table.is_bit else {}
    for reg in sorted(registers, key=lambda r: r.address):
        # A value and its scale factor share a request when the request can hold both,
        # whatever lies between: the exponent then belongs to the same answer as the value.
        near = reg.address - end <= max_gap or reg.end <= reach
        if current and near and reg.end - start <= max_count:
            current.append(reg)
            end = max(end, reg.end)
        else:
            if current:
                blocks.append(ReadBlock(table, start, end - start, tuple(current), unit_id))
            current, start, end, reach = [reg], reg.address, reg.end, 0
        for partner in partners.get(reg.name, []):
            if partner.address >= reg.address and partner.end - start <= max_count:
                reach = max(reach, partner.end)
    if current:
        blocks.append(ReadBlock(table, start, end - start, tuple(current), unit_id))
    return blocks


@dataclass
class ReadPlan:
    """The blocks that read every readable register of a profile, adapting to the device."""

    max_registers: int
    max_bits: int
    max_gap: int
    blocks: list[ReadBlock] = field(default_factory=list)
    unsupported: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_profile(cls, profile: Profile, names: Iterable[str] | None = None) -> ReadPlan:
        conn = profile.connection
        wanted = set(names) if names is not None else None
        if wanted is not None:
            wanted |= {
                r.scale_factor
                for r in profile.registers
                if r.name in wanted and r.scale_factor is not None
            }
        plan = cls(conn.max_registers_per_request, conn.max_bits_per_request, conn.max_gap)
        units = sorted({r.unit_id for r in profile.registers if r.unit_id is not None})
        for unit in [None, *units]:
            for table in Table:
                regs = [
                    r
                    for r in profile.registers
                    if r.table is table
                    and r.unit_id == unit
                    and (wanted is None or r.name in wanted)
                ]
                limit = plan.max_bits if table.is_bit else plan.max_registers
                gap = 0 if table.is_bit else plan.max_gap
                plan.blocks.extend(_blocks_for(table, regs, limit, gap, unit))
        return plan

    @classmethod
    def per_register(cls, profile: Profile) -> ReadPlan:
        """The naive plan, one request per register (the benchmark's baseline)."""
        conn = profile.connection
        plan = cls(conn.max_registers_per_request, conn.max_bits_per_request, 0)
        plan.blocks = [
            ReadBlock(r.table, r.address, r.words, (r,), r.unit_id) for r in profile.registers
        ]
        return plan

    @property
    def request_count(self) -> int:
        return len(self.blocks)

    def split(self, block: ReadBlock, reason: str) -> list[ReadBlock]:
        """Replace a refused block by smaller ones; returns the replacements.

        A block of one register cannot be split: that register is marked
        unsupported (reason kept) and is read no more.
        """
        index = self.blocks.index(block)
        if len(block.registers) == 1:
            self.unsupported[block.registers[0].name] = reason
            del self.blocks[index]
            return []
        half = len(block.registers) // 2
        replacement = []
        for part in (block.registers[:half], block.registers[half:]):
            start = part[0].address
            end = max(r.end for r in part)
            replacement.append(ReadBlock(block.table, start, end - start, part, block.unit_id))
        self.blocks[index : index + 1] = replacement
        return replacement
