"""The names of the frontend's build-time environment variables on Vercel, in one place.

Next.js inlines `NEXT_PUBLIC_*` variables into the browser bundle when it builds, so the name the
frontend reads, the one Terraform sets (infrastructure/modules/frontend/main.tf) and the one a region
failover changes must be the same, or a failover changes a variable nobody reads. The recovery runbooks
and the verifier take the names from here; tests/test_frontend_env_names.py reads the Terraform module and
fails when its keys differ from these.
"""

from __future__ import annotations

WEBSOCKET_URL = "NEXT_PUBLIC_WEBSOCKET_URL"
"""The WebSocket server's public URL (wss://...), which the browser connects to."""

FIREBASE_PROJECT_ID = "NEXT_PUBLIC_FIREBASE_PROJECT_ID"
FIREBASE_API_KEY = "NEXT_PUBLIC_FIREBASE_API_KEY"

BY_ROLE: dict[str, str] = {
    "websocket_url": WEBSOCKET_URL,
    "firebase_project_id": FIREBASE_PROJECT_ID,
    "firebase_api_key": FIREBASE_API_KEY,
}
"""Each variable by its role, the name of its `vercel_project_environment_variable` resource in Terraform."""
