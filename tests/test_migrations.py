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
