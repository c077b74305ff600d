"""SunSpec register images encoded by pysunspec2 itself, served by a plain pymodbus server.

pysunspec2 (the SunSpec Alliance's own library) turns point values into
words, model by model; the image is its words from the "SunS" marker to the
end marker, served as one block of holding registers by pymodbus' server with
no code of ours in between. A test may change words while the server runs (a
scale factor that changes after discovery) and decodes what it expects with
pysunspec2 again, point for point.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import sunspec2.device as ss_device
import sunspec2.file.client as ss_file
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

MARKER = [0x5375, 0x6E53]
END = [0xFFFF, 0]


def encoded(model_id: int, values: dict[str, Any]) -> list[int]:
    """One model's words (ID, L and body) as pysunspec2 encodes these raw point values; points
    not given read 'not implemented', or 0 in a model with repeating groups (none of them)."""
    try:
        model = ss_device.Model(model_id=model_id)
    except ss_device.ModelError:
        length = sum(int(p.get("size", 1)) for p in _points(model_id)) - 2
        zeros = model_id.to_bytes(2, "big") + length.to_bytes(2, "big") + bytes(2 * length)
        model = ss_device.Model(model_id=model_id, data=zeros)
    for name, value in values.items():
        getattr(model, name).value = value
    return _words(model.get_mb())


def _points(model_id: int) -> list[dict[str, Any]]:
    points: list[dict[str, Any]] = ss_device.get_model_def(model_id)["group"]["points"]
    return points


def _words(data: bytes) -> list[int]:
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def device_image_models(name: str) -> list[list[int]]:
    """The models of a device image pysunspec2 ships (``device_1547.json``), as words."""
    entry = resources.files("sunspec2").joinpath(f"tests/test_data/{name}")
    device = ss_file.FileClientDevice(str(entry))
    device.scan()
    return [_words(m.get_mb()) for m in device.model_list]


def chain(models: list[list[int]], end: list[int] | None = None) -> list[int]:
    """Marker, models, end marker (the standard one unless told)."""
    words = list(MARKER)
    for m in models:
        words += m
    return words + (END if end is None else end)


def decoded(words: list[int], address: int) -> dict[str, float | str | None]:
    """pysunspec2's computed value of every fixed point of the model whose ID is at
    ``address`` in an image served from 40000."""
    return decoded_at(words, address - 40000)


def decoded_at(words: list[int], offset: int) -> dict[str, float | str | None]:
    model_id, length = words[offset], words[offset + 1]
    data = b"".join(w.to_bytes(2, "big") for w in words[offset : offset + 2 + length])
    model = ss_device.Model(model_id=model_id, data=data)
    values: dict[str, float | str | None] = {}
    for name, point in model.points.items():
        values[name] = point.cvalue
    return values


@dataclass
class ImageServer:
    """pymodbus' TCP server holding one image at ``base`` for one unit id."""

    words: list[int]
    base: int = 40000
    unit_id: int = 1
    writes: list[tuple[int, list[int]]] = field(default_factory=list)
    _changes: dict[int, int] = field(default_factory=dict)
    _server: ModbusTcpServer | None = None

    async def start(self) -> int:
        device = SimDevice(
            id=self.unit_id,
            simdata=[SimData(self.base, values=list(self.words), datatype=DataType.REGISTERS)],
            action=self._action,
        )
        self._server = ModbusTcpServer(device, address=("127.0.0.1", 0))
        await self._server.serve_forever(background=True)
        port: int = self._server.transport.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return port

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]

    def set(self, address: int, words: list[int]) -> None:
        """Change words while serving (applied before the next request is answered)."""
        for i, w in enumerate(words):
            self._changes[address + i] = w & 0xFFFF
            self.words[address - self.base + i] = w & 0xFFFF

    async def _action(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        current_registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> None:
        for at, word in self._changes.items():
            current_registers[at - start_address] = word
        self._changes.clear()
        if set_values is not None:
            values = [int(v) for v in set_values]
            self.writes.append((address, values))
            for i, w in enumerate(values):
                self.words[address - self.base + i] = w
        return None


def storage_models(**overrides: dict[str, Any]) -> list[list[int]]:
    """A storage device as pysunspec2 encodes it: common, three-phase inverter, storage
    control, DER storage capacity and battery (1/103/124/713/802), with scale factors
    that differ from model to model (raw values; ``overrides`` replaces some per model)."""
    points: dict[int, dict[str, Any]] = {
        1: {"Mn": "SunSpecLab", "Md": "Storage-802", "Vr": "2.4.1", "SN": "SL-0001", "DA": 1},
        103: {
            "A": 1234,
            "A_SF": -2,
            "W": -1520,
            "W_SF": 1,
            "Hz": 5001,
            "Hz_SF": -2,
            "VAr": 35,
            "VAr_SF": 1,
            "St": 4,
            "PhVphA": 2301,
            "V_SF": -1,
            "VA": 160,
            "VA_SF": 1,
            "PF": -95,
            "PF_SF": -2,
            "WH": 123456,
            "WH_SF": 0,
            "DCA_SF": 0,
            "DCV_SF": 0,
            "DCW_SF": 0,
            "TmpCab": 312,
            "Tmp_SF": -1,
        },
        124: {
            "WChaMax": 1000,
            "WChaMax_SF": 1,
            "StorCtl_Mod": 0,
            "ChaState": 6321,
            "ChaState_SF": -2,
            "InBatV": 7523,
            "InBatV_SF": -1,
            "OutWRte": 0,
            "InWRte": 0,
            "InOutWRte_SF": -2,
            "InOutWRte_RvrtTms": 0,
            "WChaDisChaGra_SF": 0,
            "VAChaMax_SF": 0,
            "MinRsvPct_SF": 0,
            "StorAval_SF": 0,
        },
        713: {"WHRtg": 2000, "WHAvail": 1264, "SoC": 632, "SoH": 981, "WH_SF": 1, "Pct_SF": -1},
        802: {
            "AHRtg": 40,
            "AHRtg_SF": 0,
            "WHRtg": 2000,
            "WHRtg_SF": 1,
            "WChaRteMax": 1000,
            "WDisChaRteMax": 1000,
            "WChaDisChaMax_SF": 1,
            "SoC": 6321,
            "SoC_SF": -2,
            "SoH": 981,
            "SoH_SF": -1,
            "DoD_SF": 0,
            "DisChaRte_SF": 0,
            "V": 7523,
            "V_SF": -1,
            "A": -199,
            "A_SF": -2,
            "W": -150,
            "W_SF": 1,
            "CellV_SF": -3,
            "AMax_SF": 0,
            "ChaSt": 3,
            "State": 2,
            "Typ": 4,
        },
    }
    for mid, extra in overrides.items():
        points[int(mid.removeprefix("m"))].update(extra)
    return [encoded(mid, values) for mid, values in points.items()]


def read_json(name: str) -> Any:
    entry = resources.files("sunspec2").joinpath(f"tests/test_data/{name}")
    return json.loads(entry.read_text(encoding="utf-8"))
