"""The backend's `tasks` table, read and written for one user at a time.

The backend owns the schema (its models and `python -m app.migrate` create it); this module maps
only the columns the tools touch and never creates or alters a table. tests/test_schema.py checks
the mapping against the backend's own model, so a column change there fails here first.

Every statement carries `user_id = :caller` in its WHERE clause (or its VALUES), so a task of
another user is invisible: reading, changing or deleting it finds nothing, exactly as for an id
that does not exist."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError

from .config import Settings

log = logging.getLogger("taskflow_mcp.store")

# The same caps as the backend's models.py: a value that validates always fits its column.
TITLE_MAX = 200
DESCRIPTION_MAX = 2000
# Task ids are 32-bit serials: anything larger cannot exist and is refused before the database sees it.
ID_MAX = 2_147_483_647

metadata = MetaData()
tasks = Table(
    "tasks",
    metadata,
    Column("id", Integer, primary_key=True),
    # A foreign key to users(id) in the backend's schema; not declared here because this side
    # never maps `users`.
    Column("user_id", Integer, nullable=False),
    Column("title", String(TITLE_MAX), nullable=False),
    Column("description", Text, nullable=True),
    Column("completed", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
_COLUMNS = (
    tasks.c.id,
    tasks.c.title,
    tasks.c.description,
    tasks.c.completed,
    tasks.c.created_at,
    tasks.c.updated_at,
)


@dataclass(frozen=True)
class TaskRow:
    id: int
    title: str
    description: str | None
    completed: bool
    created_at: datetime
    updated_at: datetime


class UnknownUser(Exception):
    """The token names a user the database does not hold (deleted since the token was made)."""


def make_engine(settings: Settings) -> Engine:
    return create_engine(
        settings.database_url,
        # Connections dropped by a database restart are replaced instead of failing one call each.
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        pool_timeout=10,
        connect_args={"connect_timeout": settings.db_connect_timeout_seconds, "application_name": "taskflow-mcp"},
    )


def describe_url(engine: Engine) -> str:
    """The URL without its password, for log lines."""
    return engine.url.render_as_string(hide_password=True)


def db_error_summary(exc: BaseException) -> str:
    """One line naming the failure; driver messages never contain the password."""
    inner = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    first = (str(inner).strip().splitlines() or [""])[0]
    return f"{type(inner).__name__}: {first}"[:300]


def _row(row: Any) -> TaskRow:
    return TaskRow(row.id, row.title, row.description, row.completed, row.created_at, row.updated_at)


class TaskStore:
    """Synchronous database calls; the tools run them on worker threads."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def schema_state(self) -> str:
        """'ok' when the database answers and the tasks table exists, 'missing' when it answers without it.
        Raises SQLAlchemyError when the database cannot be reached."""
        with self.engine.connect() as conn:
            # to_regclass follows the connection's search_path, as the tools' queries do.
            found = conn.execute(text("SELECT to_regclass('tasks') IS NOT NULL")).scalar_one()
        return "ok" if found else "missing"

    def list_tasks(self, user_id: int, completed: bool | None) -> list[TaskRow]:
        query = select(*_COLUMNS).where(tasks.c.user_id == user_id)
        if completed is not None:
            query = query.where(tasks.c.completed == completed)
        with self.engine.connect() as conn:
            return [_row(r) for r in conn.execute(query.order_by(tasks.c.id))]

    def add_task(self, user_id: int, title: str, description: str | None) -> TaskRow:
        # completed, created_at and updated_at come from the backend's column defaults.
        statement = insert(tasks).values(user_id=user_id, title=title, description=description).returning(*_COLUMNS)
        with self.engine.begin() as conn:
            try:
                return _row(conn.execute(statement).one())
            except DBAPIError as exc:
                # 23503 foreign_key_violation: no such user row.
                if getattr(exc.orig, "sqlstate", None) == "23503":
                    raise UnknownUser() from None
                raise

    def update_task(self, user_id: int, task_id: int, changes: dict[str, Any]) -> TaskRow | None:
        """Applies `changes` to the caller's task; None when the caller has no task with that id."""
        if not 1 <= task_id <= ID_MAX:
            return None
        statement = (
            update(tasks)
            .where(tasks.c.id == task_id, tasks.c.user_id == user_id)
            # The backend bumps updated_at from its ORM (onupdate), not from a trigger, so it is set here too.
            .values(**changes, updated_at=func.now())
            .returning(*_COLUMNS)
        )
        with self.engine.begin() as conn:
            row = conn.execute(statement).one_or_none()
        return None if row is None else _row(row)

    def delete_task(self, user_id: int, task_id: int) -> bool:
        """Deletes the caller's task; False when the caller has no task with that id."""
        if not 1 <= task_id <= ID_MAX:
            return False
        statement = delete(tasks).where(tasks.c.id == task_id, tasks.c.user_id == user_id).returning(tasks.c.id)
        with self.engine.begin() as conn:
            return conn.execute(statement).one_or_none() is not None
