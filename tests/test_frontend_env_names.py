"""The frontend's variable names agree between the code that changes them and the Terraform that sets them.

A failover that points `NEXT_PUBLIC_WS_URL` at the new region changes nothing when the Next.js app reads
`NEXT_PUBLIC_WEBSOCKET_URL` (found in #18): the names live in core/model/frontend_env.py, and this test
reads infrastructure/modules/frontend/main.tf so a rename on either side fails here.
"""

from __future__ import annotations

from pathlib import Path

import hcl2
from hcl2 import SerializationOptions

from core.model import frontend_env
from core.recovery.runbook import load_all

MODULE = Path(__file__).resolve().parents[1] / "infrastructure" / "modules" / "frontend" / "main.tf"


def _terraform_keys() -> dict[str, str]:
    options = SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)
    parsed = hcl2.loads(MODULE.read_text(encoding="utf-8"), serialization_options=options)
    keys: dict[str, str] = {}
    for block in parsed.get("resource", []):
        for name, body in block.get("vercel_project_environment_variable", {}).items():
            keys[name] = body["key"]
    return keys


def test_every_frontend_variable_terraform_sets_has_the_name_the_code_uses() -> None:
    assert _terraform_keys() == frontend_env.BY_ROLE


def test_the_failover_runbook_points_the_variable_terraform_sets() -> None:
    network = load_all()["network"]
    steps = {s.id: s for s in network.steps}
    assert "params" not in steps["point-frontend"].model_fields_set  # the name comes from core, not the runbook
    assert frontend_env.WEBSOCKET_URL in steps["point-frontend"].title
    assert _terraform_keys()["websocket_url"] == frontend_env.WEBSOCKET_URL
