"""The Google adapters on the sandbox as most tests use them: production's project and region, fast retries."""

from __future__ import annotations

from core.providers.google_retry import RetryPolicy

FAST = RetryPolicy(initial=0.01, maximum=0.05, deadline=3.0, poll_initial=0.01,
                   poll_maximum=0.05, operation_timeout=10.0)
"""Retries and polls fast enough for a sandbox on loopback; the deadline still bounds a broken test."""
PROJECT = "ai-agent-network-prod"
REGION = "us-central1"
