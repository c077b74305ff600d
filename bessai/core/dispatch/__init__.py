"""Dispatch: who proposes the setpoint in Auto mode. The SafetyGuard has the last word."""

from bessai.core.dispatch.rules import Proposal, RuleDispatcher

__all__ = ["Proposal", "RuleDispatcher"]
