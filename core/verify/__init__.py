"""Deployment verification: health, WebSocket delivery, a smoke burst beside the stable revision, error
rate, integration and security checks on one revision's own URL, gathered into a report that passes only
when every required check passed.
"""

from core.verify.report import CheckResult, Outcome, RevisionRef, VerificationReport, VerifyTarget
from core.verify.runner import CHECK_FUNCTIONS, check_budget, verify_revision

__all__ = [
    "CHECK_FUNCTIONS",
    "CheckResult",
    "Outcome",
    "RevisionRef",
    "VerificationReport",
    "VerifyTarget",
    "check_budget",
    "verify_revision",
]
