"""The server maps the backend's tasks table and nothing else: the mapping must agree with the backend's model."""

from __future__ import annotations

from app.models import DESCRIPTION_MAX as BACKEND_DESCRIPTION_MAX
from app.models import ID_MAX as BACKEND_ID_MAX
from app.models import TITLE_MAX as BACKEND_TITLE_MAX
from app.models import Base
from taskflow_mcp import store


def test_every_mapped_column_exists_in_the_backends_tasks_table_with_the_same_type() -> None:
    backend = Base.metadata.tables["tasks"]
    for column in store.tasks.columns:
        assert column.name in backend.columns, f"tasks.{column.name} is not in the backend's model"
        theirs = backend.columns[column.name]
        assert type(column.type) is type(theirs.type), column.name
        assert column.nullable == theirs.nullable, column.name
        assert column.primary_key == theirs.primary_key, column.name
        assert getattr(column.type, "length", None) == getattr(theirs.type, "length", None), column.name
        assert getattr(column.type, "timezone", None) == getattr(theirs.type, "timezone", None), column.name


def test_the_server_maps_only_the_tasks_table() -> None:
    assert set(store.metadata.tables) == {"tasks"}


def test_length_caps_and_the_id_range_match_the_backends() -> None:
    assert (store.TITLE_MAX, store.DESCRIPTION_MAX, store.ID_MAX) == (BACKEND_TITLE_MAX, BACKEND_DESCRIPTION_MAX, BACKEND_ID_MAX)


def test_the_columns_the_server_leaves_out_on_insert_have_database_defaults() -> None:
    # add_task writes user_id, title and description; the rest must come from the backend's DDL.
    backend = Base.metadata.tables["tasks"]
    for name in ("completed", "created_at", "updated_at"):
        assert backend.columns[name].server_default is not None, name
