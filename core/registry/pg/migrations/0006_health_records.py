"""The `health` side table: each change of an environment's live health (core/health/record.py).

The records table's CHECK listed the side tables 0001 knew; this widens it (never editing an applied
migration). The constraint is PostgreSQL's default name for 0001's inline column check.
"""

from yoyo import step

__depends__ = {"0005_report_columns"}

steps = [
    step("ALTER TABLE records DROP CONSTRAINT records_tbl_check, "
         "ADD CONSTRAINT records_tbl_check CHECK (tbl IN ('infrastructure', 'incidents', 'health'))",
         "ALTER TABLE records DROP CONSTRAINT records_tbl_check, "
         "ADD CONSTRAINT records_tbl_check CHECK (tbl IN ('infrastructure', 'incidents'))"),
]
