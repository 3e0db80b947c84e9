"""Live across machines: every change to the registry is announced on the channel `opsconsole`.

Each consoles LISTENs; the payload is small JSON naming the table, the environment and the deployment, so a
console refreshes only what changed (the rows themselves are read through the registry, with its checks).
PostgreSQL delivers a notification when the writing transaction commits, never for one rolled back
(https://www.postgresql.org/docs/15/sql-notify.html), so a console never shows what did not happen.
"""

from yoyo import step

__depends__ = {"0002_identity"}

steps = [
    step("""
CREATE FUNCTION announce() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    row_data jsonb := to_jsonb(coalesce(NEW, OLD));
BEGIN
    PERFORM pg_notify('opsconsole', json_build_object(
        'table', TG_TABLE_NAME,
        'environment', coalesce(row_data->>'environment', row_data->>'name'),
        'deployment', coalesce(row_data->>'deployment_id', CASE WHEN TG_TABLE_NAME = 'deployments'
                                                              THEN row_data->>'id' END),
        'kind', coalesce(row_data#>>'{doc,kind}', row_data->>'status', row_data->>'tbl'),
        'by', current_user)::text);
    RETURN NULL;
END $$"""),
    step("CREATE TRIGGER announce AFTER INSERT OR UPDATE ON deployments FOR EACH ROW EXECUTE FUNCTION announce()"),
    step("CREATE TRIGGER announce AFTER INSERT ON events FOR EACH ROW EXECUTE FUNCTION announce()"),
    step("CREATE TRIGGER announce AFTER INSERT OR UPDATE ON environments FOR EACH ROW EXECUTE FUNCTION announce()"),
    step("CREATE TRIGGER announce AFTER INSERT OR UPDATE OR DELETE ON records FOR EACH ROW "
         "EXECUTE FUNCTION announce()"),
    step("CREATE TRIGGER announce AFTER INSERT OR UPDATE ON leases FOR EACH ROW EXECUTE FUNCTION announce()"),
]
