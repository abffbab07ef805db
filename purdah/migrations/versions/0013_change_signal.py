"""PostgreSQL: every table tells listeners when it changes. A statement-level trigger on
each table of the store runs `pg_notify('purdah_changed', '')` after any INSERT, UPDATE,
DELETE or TRUNCATE, so every commit that changed anything (by purdah or by hand in psql)
sends one notification on the channel `purdah_changed` as it commits (the HTTP service
listens and empties its caches; see `purdah.store.ChangeSignal`). The trigger is put on
the tables by the function `purdah_watch_tables()`, which covers every table of the
schema: a later migration that adds a table ends with `SELECT purdah_watch_tables()`
(tests/test_change_signal.py fails for a table without the trigger). Nothing on SQLite.

Revision ID: 0013_change_signal
Revises: 0012_notices
"""

from alembic import op

revision = "0013_change_signal"
down_revision = "0012_notices"
branch_labels = None
depends_on = None

CHANNEL = "purdah_changed"
TRIGGER = "purdah_changed"

_NOTIFY = f"""
CREATE OR REPLACE FUNCTION purdah_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', '');
    RETURN NULL;
END
$$
"""

# Puts the trigger on every table of the current schema (again where it is: idempotent).
_WATCH = f"""
CREATE OR REPLACE FUNCTION purdah_watch_tables() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    t record;
    n integer := 0;
BEGIN
    FOR t IN SELECT c.oid::regclass AS name
             FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
             WHERE s.nspname = current_schema() AND c.relkind IN ('r', 'p')
    LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS {TRIGGER} ON %s', t.name);
        EXECUTE format(
            'CREATE TRIGGER {TRIGGER} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s '
            'FOR EACH STATEMENT EXECUTE FUNCTION purdah_changed()', t.name);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$
"""

_UNWATCH = f"""
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT c.oid::regclass AS name
             FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
             WHERE s.nspname = current_schema() AND c.relkind IN ('r', 'p')
    LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS {TRIGGER} ON %s', t.name);
    END LOOP;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_NOTIFY)
    op.execute(_WATCH)
    op.execute("SELECT purdah_watch_tables()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_UNWATCH)
    op.execute("DROP FUNCTION IF EXISTS purdah_watch_tables()")
    op.execute("DROP FUNCTION IF EXISTS purdah_changed()")
