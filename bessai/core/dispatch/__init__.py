"""Dispatch: who proposes the setpoint in Auto mode. The SafetyGuard has the last word."""

from bessai.core.dispatch.inputs import (
    Dispatcher,
    DispatchInputs,
    Fallback,
    PriceCurve,
    Proposal,
)
from bessai.core.dispatch.model import DispatchModel, ModelDispatcher, ModelError, load_dispatcher
from bessai.core.dispatch.rules import RuleDispatcher

__all__ = [
    "DispatchInputs",
    "DispatchModel",
    "Dispatcher",
    "Fallback",
    "ModelDispatcher",
    "ModelError",
    "PriceCurve",
    "Proposal",
    "RuleDispatcher",
    "load_dispatcher",
]
