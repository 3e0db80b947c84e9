"""The registry's tables, with the invariants the database itself holds (not Python alone).

- one active (not finished) deployment per environment: a partial unique index;
- a deployment's events are numbered 1, 2, 3 ... with no gap and only while it runs: a trigger;
- side records keyed as in the embedded registry (infrastructure, incidents): a check;
- every row says which database user wrote it (`current_user`, set by the server, not by the console).

yoyo applies this file once, in one transaction (PostgreSQL's DDL is transactional), and records it.
"""

from yoyo import step

__depends__: set[str] = set()

steps = [
    step("""
CREATE TABLE deployments (
    id          text PRIMARY KEY CHECK (id ~ '^d-[0-9]{8}-[0-9]{6}-[0-9]{3}-[0-9a-f]{6}$'),
    environment text NOT NULL CHECK (environment ~ '^[a-z][a-z0-9-]*$'),
    status      text NOT NULL CHECK (status IN ('pending', 'in_progress', 'paused', 'succeeded', 'failed',
                                                'rolled_back', 'aborted')),
    finished    boolean GENERATED ALWAYS AS (status IN ('succeeded', 'failed', 'rolled_back', 'aborted')) STORED,
    started_at  timestamptz NOT NULL,
    doc         jsonb NOT NULL CHECK (doc->>'id' = id AND doc->>'environment' = environment
                                      AND doc->>'status' = status),
    created_by  text NOT NULL DEFAULT current_user,
    updated_by  text NOT NULL DEFAULT current_user,
    approved_by text,
    UNIQUE (id, environment)
)"""),
    step("CREATE UNIQUE INDEX one_active_deployment_per_environment ON deployments (environment) WHERE NOT finished"),
    step("CREATE INDEX deployments_by_environment ON deployments (environment, id)"),
    step("""
CREATE TABLE events (
    deployment_id text NOT NULL,
    environment   text NOT NULL,
    seq           integer NOT NULL CHECK (seq >= 1),
    at            timestamptz NOT NULL,
    doc           jsonb NOT NULL CHECK ((doc->>'seq')::integer = seq AND doc->>'deployment_id' = deployment_id),
    db_user       text NOT NULL DEFAULT current_user,
    PRIMARY KEY (deployment_id, seq),
    FOREIGN KEY (deployment_id, environment) REFERENCES deployments (id, environment) ON DELETE CASCADE
)"""),
    step("""
CREATE FUNCTION events_in_order() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_seq integer;
    is_finished boolean;
BEGIN
    -- A finished deployment's log is closed, except in the transaction that wrote it (imported history).
    SELECT finished AND xmin <> xid(pg_current_xact_id()) INTO is_finished
        FROM deployments WHERE id = NEW.deployment_id FOR SHARE;
    IF is_finished THEN
        RAISE EXCEPTION 'deployment % has finished: its event log is closed', NEW.deployment_id
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT coalesce(max(seq), 0) INTO last_seq FROM events WHERE deployment_id = NEW.deployment_id;
    IF NEW.seq <> last_seq + 1 THEN
        RAISE EXCEPTION 'event % of deployment % would leave a gap or repeat (the last is %)',
            NEW.seq, NEW.deployment_id, last_seq USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$"""),
    step("CREATE TRIGGER events_in_order BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION events_in_order()"),
    step("CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
         "RAISE EXCEPTION 'events are never changed, only appended' USING ERRCODE = 'check_violation'; END $$"),
    step("CREATE TRIGGER events_append_only BEFORE UPDATE ON events FOR EACH ROW "
         "EXECUTE FUNCTION events_append_only()"),
    step("""
CREATE TABLE environments (
    name text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9-]*$'),
    doc  jsonb NOT NULL CHECK (doc->>'name' = name),
    updated_by text NOT NULL DEFAULT current_user
)"""),
    step("""
CREATE TABLE records (
    tbl        text NOT NULL CHECK (tbl IN ('infrastructure', 'incidents')),
    key        text NOT NULL CHECK (key <> ''),
    doc        jsonb NOT NULL,
    updated_by text NOT NULL DEFAULT current_user,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tbl, key)
)"""),
    step("""
CREATE TABLE leases (
    environment text PRIMARY KEY,
    generation  bigint NOT NULL CHECK (generation >= 1),
    operator    text NOT NULL,
    db_user     text NOT NULL DEFAULT current_user,
    host        text NOT NULL,
    pid         integer NOT NULL,
    backend_pid integer NOT NULL,
    since       timestamptz NOT NULL DEFAULT now(),
    heartbeat   timestamptz NOT NULL DEFAULT now(),
    released    boolean NOT NULL DEFAULT false
)"""),
    step("""
CREATE TABLE policies (
    environment       text PRIMARY KEY,
    distinct_approver boolean NOT NULL
)"""),
    step("INSERT INTO policies VALUES ('production', true)"),
]
