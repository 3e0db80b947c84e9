"""Side tables of the registry: records other parts of core keep (infrastructure states, incidents)."""

import pytest

from core.errors import BadInput
from core.registry import DeploymentRegistry


def test_a_record_survives_reopening_and_is_replaced_by_key(tmp_path):
    registry = DeploymentRegistry(tmp_path / "registry.json")
    registry.put_record("incidents", "INC-1", {"severity": "SEV2", "steps": [1, 2]})
    registry.put_record("incidents", "INC-1", {"severity": "SEV1"})
    again = DeploymentRegistry(tmp_path / "registry.json")
    assert again.get_record("incidents", "INC-1") == {"severity": "SEV1"}
    assert again.records("incidents") == {"INC-1": {"severity": "SEV1"}}
    assert again.get_record("infrastructure", "staging") is None


def test_deployment_tables_cannot_be_written_as_records(tmp_path):
    registry = DeploymentRegistry(tmp_path / "registry.json")
    with pytest.raises(BadInput, match="not a registry record table"):
        registry.put_record("deployments", "x", {})
