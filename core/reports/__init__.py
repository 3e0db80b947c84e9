"""Deployment reports: DORA figures, success and rollback rates, duration trends and a timeline, rendered elsewhere."""

from core.reports.compute import generate_report
from core.reports.model import DeploymentReport, Tier

__all__ = ["DeploymentReport", "Tier", "generate_report"]
