"""The report's fields kept beside each deployment's document, so a report reads columns, not documents.

A report over 100 000 deployments spent most of its server time taking the same few fields out of every
(compressed, out-of-line) document. A trigger now keeps them in plain columns whenever a deployment is
written, by whichever path (the registry, `registry migrate`, raw SQL), so they cannot drift from the document.
"""

from yoyo import step

__depends__ = {"0004_listing_indexes"}

steps = [
    step("""
ALTER TABLE deployments
    ADD COLUMN report_strategy text,
    ADD COLUMN report_started double precision,
    ADD COLUMN report_ended double precision,
    ADD COLUMN report_versions text,
    ADD COLUMN report_cause text,
    ADD COLUMN report_commit_times text,
    ADD COLUMN report_stages text
"""),
    step("""
CREATE FUNCTION report_columns() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.report_strategy := NEW.doc->>'strategy';
    NEW.report_started := extract(epoch FROM NEW.started_at);
    NEW.report_ended := extract(epoch FROM (NEW.doc->>'ended_at')::timestamptz);
    NEW.report_versions := NEW.doc->>'versions';
    NEW.report_cause := NEW.doc->>'rollback_cause';
    NEW.report_commit_times := NEW.doc->'metadata'->>'commit_times';
    NEW.report_stages := CASE WHEN NEW.status = 'rolled_back' THEN NEW.doc->>'stages' END;
    RETURN NEW;
END $$"""),
    step("CREATE TRIGGER report_columns BEFORE INSERT OR UPDATE ON deployments FOR EACH ROW "
         "EXECUTE FUNCTION report_columns()"),
    step("UPDATE deployments SET doc = doc"),  # fills the columns of what is already there
]
