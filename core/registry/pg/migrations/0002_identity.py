"""Who may do what, enforced by the database: four eyes on approvals, one group role per environment.

- Approving a deployment records the database's `current_user` as `approved_by`; in an environment whose
  policy asks for a distinct approver, the user who created the deployment cannot approve it.
- Row-level security: anyone with access to the registry reads everything; a deployment, its events and its
  environment's lease are written only by members of the environment's group role `opsconsole_<env>`.
  The schema's owner (who applied the migrations) is exempt, as PostgreSQL makes table owners; a team
  connects as one role per person, so this is what holds a console to its person's grants.
"""

from yoyo import step

__depends__ = {"0001_registry"}

steps = [
    step("""
CREATE FUNCTION four_eyes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    distinct_needed boolean;
BEGIN
    IF (NEW.doc #> '{metadata,rollout,approval}') IS DISTINCT FROM (OLD.doc #> '{metadata,rollout,approval}')
       AND coalesce(jsonb_typeof(NEW.doc #> '{metadata,rollout,approval}'), 'null') <> 'null' THEN
        SELECT p.distinct_approver INTO distinct_needed FROM policies p WHERE p.environment = NEW.environment;
        -- The schema's owner is exempt, as row-level security exempts it (it copies history in with
        -- `registry migrate`, and could disable the trigger anyway); people connect as themselves.
        IF coalesce(distinct_needed, false) AND current_user = OLD.created_by AND current_user <> (
                SELECT tableowner FROM pg_tables WHERE schemaname = TG_TABLE_SCHEMA AND tablename = TG_TABLE_NAME) THEN
            RAISE EXCEPTION '% needs a second person: % deployed %, so someone else must approve it',
                NEW.environment, OLD.created_by, NEW.id USING ERRCODE = 'insufficient_privilege';
        END IF;
        NEW.approved_by := current_user;
    ELSE
        NEW.approved_by := OLD.approved_by;  -- only an approval sets it, and only to who gave it
    END IF;
    NEW.updated_by := current_user;
    NEW.created_by := OLD.created_by;
    RETURN NEW;
END $$"""),
    step("CREATE TRIGGER four_eyes BEFORE UPDATE ON deployments FOR EACH ROW EXECUTE FUNCTION four_eyes()"),
    step("""
CREATE FUNCTION created_by_server() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.created_by := current_user;
    NEW.updated_by := current_user;
    NEW.approved_by := NULL;
    RETURN NEW;
END $$"""),
    step("CREATE TRIGGER created_by_server BEFORE INSERT ON deployments FOR EACH ROW "
         "EXECUTE FUNCTION created_by_server()"),
    step("""
CREATE FUNCTION may_change(env text) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = 'opsconsole_' || env
                   AND pg_has_role(current_user, r.oid, 'MEMBER'))
$$"""),
    step("ALTER TABLE deployments ENABLE ROW LEVEL SECURITY"),
    step("CREATE POLICY read_all ON deployments FOR SELECT USING (true)"),
    step("CREATE POLICY write_own_environments ON deployments FOR INSERT WITH CHECK (may_change(environment))"),
    step("CREATE POLICY change_own_environments ON deployments FOR UPDATE USING (may_change(environment)) "
         "WITH CHECK (may_change(environment))"),
    step("ALTER TABLE events ENABLE ROW LEVEL SECURITY"),
    step("CREATE POLICY read_all ON events FOR SELECT USING (true)"),
    step("CREATE POLICY write_own_environments ON events FOR INSERT WITH CHECK (may_change(environment))"),
    step("ALTER TABLE leases ENABLE ROW LEVEL SECURITY"),
    step("CREATE POLICY read_all ON leases FOR SELECT USING (true)"),
    step("CREATE POLICY write_own_environments ON leases FOR ALL USING (may_change(environment)) "
         "WITH CHECK (may_change(environment))"),
    step("ALTER TABLE environments ENABLE ROW LEVEL SECURITY"),
    step("CREATE POLICY read_all ON environments FOR SELECT USING (true)"),
    step("CREATE POLICY write_own_environments ON environments FOR ALL USING (may_change(name)) "
         "WITH CHECK (may_change(name))"),
    # The team's roles: created when the migrating user may create roles (the owner on a local server,
    # cloudsqlsuperuser on Cloud SQL); otherwise a database administrator creates them (README).
    step("""
DO $$
DECLARE
    name text;
BEGIN
    FOREACH name IN ARRAY ARRAY['opsconsole_team', 'opsconsole_dev', 'opsconsole_staging', 'opsconsole_production']
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = name) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', name);
            EXCEPTION WHEN insufficient_privilege THEN
                RAISE NOTICE 'role % not created: the migrating user may not create roles', name;
            END;
        END IF;
    END LOOP;
END $$"""),
    step("""
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'opsconsole_team') THEN
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO opsconsole_team', current_schema());
        GRANT SELECT ON deployments, events, environments, records, leases, policies, _yoyo_migration
            TO opsconsole_team;
        GRANT INSERT, UPDATE ON deployments, environments, leases TO opsconsole_team;
        GRANT INSERT ON events TO opsconsole_team;
        GRANT INSERT, UPDATE, DELETE ON records TO opsconsole_team;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'opsconsole_dev') THEN
        BEGIN
            GRANT opsconsole_team TO opsconsole_dev, opsconsole_staging, opsconsole_production;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE NOTICE 'environment roles not made team members: the migrating user may not grant roles';
        END;
    END IF;
END $$"""),
]
