"""The Alembic migrations build exactly the schema the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import purdah.models  # noqa: F401


def test_migrations_match_models(sqlite_store):
    with sqlite_store.engine.connect() as conn:
        context = MigrationContext.configure(conn)
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_opening_an_uninitialised_database_says_run_init(tmp_path):
    import pytest

    from purdah.store import StoreError, open_store

    path = tmp_path / "empty.db"
    path.touch()
    with pytest.raises(StoreError, match="has no purdah schema: run 'purdah init'"):
        open_store(str(path))


def test_upgrading_from_the_first_schema_keeps_the_data(tmp_path):
    from alembic import command
    from alembic.config import Config

    from purdah.store import SCHEMA_HEAD, migrate, open_store

    store = open_store(str(tmp_path / "old.db"), create=True)
    cfg = Config()
    cfg.set_main_option("script_location", "purdah/migrations")
    with store.engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.commit()
    with store.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO election (election_id, type, area, poll_date, status, source, "
            "created_at, updated_at) VALUES ('parl.2029-08-16', 'parl', 'uk', '2029-08-16', "
            "'scheduled', 'manual', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )
    assert migrate(store) == SCHEMA_HEAD
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT election_id, source_uid, title FROM election").all()
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    assert rows == [("parl.2029-08-16", None, "")]
    assert version == SCHEMA_HEAD


def test_0006_renames_policies_and_keeps_an_existing_store_on_its_old_default(tmp_path):
    from alembic import command
    from alembic.config import Config

    from purdah.store import migrate, open_store

    store = open_store(str(tmp_path / "old.db"), create=True)
    cfg = Config()
    cfg.set_main_option("script_location", "purdah/migrations")
    with store.engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
        conn.commit()
    with store.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO council (slug, name, nation, kind, start_policy, end_policy, scope, "
            "created_at) VALUES ('selston', 'Selston', 'ENG', 'parish', 'latest-notice', "
            "'close-of-poll', 'council', '2026-01-01 00:00:00')"
        )
        conn.exec_driver_sql(
            "INSERT INTO election (election_id, type, area, poll_date, notice, status, source, "
            "created_at, updated_at) VALUES ('local.selston.2027-05-06', 'local', 'selston', "
            "'2027-05-06', '2027-03-24', 'scheduled', 'manual', '2026-01-01 00:00:00', "
            "'2026-01-01 00:00:00')"
        )
    migrate(store)
    with store.engine.connect() as conn:
        policy = conn.exec_driver_sql("SELECT start_policy FROM council").scalar()
        default = conn.exec_driver_sql(
            "SELECT value FROM meta WHERE key = 'default_start_policy'"
        ).scalar()
        source = conn.exec_driver_sql("SELECT notice_source FROM election").scalar()
    assert (policy, default, source) == ("notice-or-last-day", "notice-or-statutory", "clerk")


def test_a_new_store_gets_the_run_up_default(sqlite_store):
    with sqlite_store.engine.connect() as conn:
        default = conn.exec_driver_sql(
            "SELECT value FROM meta WHERE key = 'default_start_policy'"
        ).scalar()
    assert default == "run-up"
