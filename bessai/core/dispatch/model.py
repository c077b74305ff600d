"""The learned dispatcher: an ONNX regressor checked on load and on every inference.

The model file ships with a metadata file (inputs and units, output and its
range, version, sha256, how it was trained). Loading checks the hash and
the graph's input and output names, shapes and types against it; any
mismatch is a ``ModelError`` naming what is wrong, and the gateway runs the
rule fallback with an alarm instead. Each inference with a missing or stale
input, or a NaN, infinite or out-of-range output, also gives the fallback.
"""

from __future__ import annotations

import hashlib
import json
import math
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import onnxruntime as ort
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bessai.core.dispatch.inputs import FEATURES, DispatchInputs, Fallback, Proposal
from bessai.core.dispatch.rules import RuleDispatcher
from bessai.integrity.manifest import IntegrityError, check_shipped

MODEL_FILE = "dispatch.onnx"
METADATA_FILE = "dispatch.json"


class ModelError(Exception):
    """A dispatch model that cannot be used, and why."""


class TensorSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    shape: list[int | None]
    dtype: str


class NamedInput(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    unit: str


class OutputSpec(TensorSpec):
    meaning: str
    min: float
    max: float
    range_basis: str | None = None


class ModelMetadata(BaseModel):
    """What a dispatch model is, what it needs and how it was made."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: Annotated[str, Field(min_length=1)]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    input: TensorSpec
    features: list[NamedInput]
    output: OutputSpec
    max_input_age_s: Annotated[float, Field(gt=0)] = 10.0
    training: dict[str, Any]


def builtin_model_path() -> Path:
    return Path(str(resources.files("bessai.resources") / "models" / MODEL_FILE))


class DispatchModel:
    """A loaded and checked ONNX dispatch model."""

    def __init__(self, path: Path, metadata_path: Path | None = None) -> None:
        self.path = path
        # The model file first: when nothing is there, that is the error to report.
        try:
            blob = path.read_bytes()
        except OSError as exc:
            raise ModelError(f"dispatch model {path}: cannot read: {exc.strerror}") from None
        _check_if_shipped(path, metadata_path or path.with_suffix(".json"))
        self.metadata = _read_metadata(metadata_path or path.with_suffix(".json"))
        digest = hashlib.sha256(blob).hexdigest()
        if digest != self.metadata.sha256:
            raise ModelError(
                f"dispatch model {path}: sha256 {digest[:12]}… does not match the metadata's "
                f"{self.metadata.sha256[:12]}… (file changed or wrong metadata)"
            )
        options = ort.SessionOptions()
        # One sample at a time on the event loop: threads would cost more than they give.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(blob, options, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise ModelError(f"dispatch model {path}: onnxruntime cannot load it: {exc}") from None
        self._check_signature()
        self.input_name = self.metadata.input.name
        self.output_name = self.metadata.output.name
        self._order = [f.name for f in self.metadata.features]
        self._vector = np.zeros((1, len(self._order)), dtype=np.float32)

    def _check_signature(self) -> None:
        meta = self.metadata
        known = [name for name, _ in FEATURES]
        names = [f.name for f in meta.features]
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ModelError(f"dispatch model {self.path}: unknown input features {unknown}")
        inputs = self.session.get_inputs()
        outputs = self.session.get_outputs()
        if len(inputs) != 1:
            raise ModelError(
                f"dispatch model {self.path}: expected 1 input, graph has {len(inputs)}"
            )
        _compare(self.path, "input", inputs[0], meta.input)
        if meta.input.shape[-1] != len(names):
            raise ModelError(
                f"dispatch model {self.path}: input width {meta.input.shape[-1]} but "
                f"{len(names)} features listed"
            )
        match = [o for o in outputs if o.name == meta.output.name]
        if not match:
            raise ModelError(
                f"dispatch model {self.path}: no output named {meta.output.name!r} "
                f"(graph has {[o.name for o in outputs]})"
            )
        _compare(self.path, "output", match[0], meta.output)

    @property
    def version(self) -> str:
        return self.metadata.version

    def run(self, features: dict[str, float | None]) -> float:
        """The raw output for one input vector (every feature must be present)."""
        for i, name in enumerate(self._order):
            value = features[name]
            assert value is not None
            self._vector[0, i] = value
        out = self.session.run([self.output_name], {self.input_name: self._vector})[0]
        return float(np.asarray(out).reshape(-1)[0])


def _compare(path: Path, kind: str, arg: Any, spec: TensorSpec) -> None:
    got_shape = [d if isinstance(d, int) else None for d in arg.shape]
    if arg.name != spec.name or got_shape != spec.shape or arg.type != spec.dtype:
        raise ModelError(
            f"dispatch model {path}: {kind} is {arg.name!r} {got_shape} {arg.type}, "
            f"metadata says {spec.name!r} {spec.shape} {spec.dtype}"
        )


def _check_if_shipped(*paths: Path) -> None:
    """Files in the shipped models folder must be those in the manifest of shipped files."""
    folder = builtin_model_path().parent.resolve()
    for path in paths:
        if path.resolve().parent != folder:
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue  # the loader's own read names it
        try:
            check_shipped(f"resources/models/{path.name}", data)
        except IntegrityError as exc:
            raise ModelError(f"dispatch model {exc}") from None


def _read_metadata(path: Path) -> ModelMetadata:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ModelError(f"dispatch model metadata {path}: cannot read: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ModelError(f"dispatch model metadata {path}: not valid JSON: {exc}") from None
    try:
        return ModelMetadata.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ModelError(f"dispatch model metadata {path}: {loc}: {first['msg']}") from None


class ModelDispatcher:
    """Proposes from the model; the rule fallback answers whenever the model cannot.

    With no usable model (``model`` None, ``load_error`` saying why) every
    proposal is the rules' and says so.
    """

    def __init__(
        self,
        model: DispatchModel | None,
        fallback: RuleDispatcher,
        load_error: str | None = None,
    ) -> None:
        self.model = model
        self.fallback = fallback
        self.load_error = load_error

    @property
    def version(self) -> str | None:
        return None if self.model is None else self.model.version

    def propose(self, inputs: DispatchInputs) -> Proposal:
        if self.model is None:
            return self.fallback.propose(
                inputs, Fallback("model_unavailable", self.load_error or "no model")
            )
        meta = self.model.metadata
        features = inputs.features()
        missing = [name for name, value in features.items() if value is None]
        if missing:
            return self.fallback.propose(
                inputs, Fallback("input_missing", f"input missing: {', '.join(missing)}")
            )
        stale = [
            name
            for name, age in inputs.ages_s.items()
            if age is not None and age > meta.max_input_age_s
        ]
        if stale:
            return self.fallback.propose(
                inputs,
                Fallback(
                    "input_stale",
                    f"input older than {meta.max_input_age_s:.0f} s: {', '.join(stale)}",
                ),
            )
        raw = self.model.run(features)
        if not math.isfinite(raw):
            return self.fallback.propose(
                inputs, Fallback("output_not_finite", f"model output {raw}")
            )
        # The graph answers in float32: its bounds are compared as float32 too, so that an
        # output of exactly the declared limit (-1.4 is -1.39999998) is in range.
        if not float(np.float32(meta.output.min)) <= raw <= float(np.float32(meta.output.max)):
            return self.fallback.propose(
                inputs,
                Fallback(
                    "output_out_of_range",
                    f"model output {raw:.3g} outside {meta.output.min}..{meta.output.max}",
                ),
            )
        kw = raw * inputs.rated_power_kw
        return Proposal(
            kw,
            "model",
            f"model {meta.version}: {kw:+.1f} kW at {inputs.hour_local:.1f} h, "
            f"SoC {inputs.soc_pct:.0f} %, PV {inputs.pv_kw:.0f} kW, load {inputs.load_kw:.0f} kW, "
            f"{inputs.price_usd_mwh:.0f} USD/MWh",
            inputs.shown(),
            dict(inputs.ages_s),
            raw_output=raw,
            model_version=meta.version,
        )


def load_dispatcher(
    path: Path | None, fallback: RuleDispatcher
) -> tuple[ModelDispatcher, str | None]:
    """The model dispatcher for ``path`` (the shipped model if None), and the load error if any."""
    try:
        model = DispatchModel(path or builtin_model_path())
    except ModelError as exc:
        return ModelDispatcher(None, fallback, str(exc)), str(exc)
    return ModelDispatcher(model, fallback), None
