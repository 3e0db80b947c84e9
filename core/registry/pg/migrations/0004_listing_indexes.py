"""Listing by environment and status, and by status alone, newest first, without reading every deployment.

`opsconsole history --env production --status rolled_back` at 100 000 deployments read the whole table
(152 ms median in bench/registry.py); with these indexes it is an index range scan.
"""

from yoyo import step

__depends__ = {"0003_notify"}

steps = [
    step("CREATE INDEX deployments_by_environment_status ON deployments (environment, status, id)"),
    step("CREATE INDEX deployments_by_status ON deployments (status, id)"),
]
