"""CRUD for the signed-in user's tasks; another user's task answers 404, as if it did not exist."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from sqlalchemy import ColumnElement, Row, and_, bindparam, case, delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.orm import Session

from ..deps import LIVE_SESSION, AsyncDbDep, ClaimsDep, PrincipalDep, ReadPoolDep, session_not_live
from ..models import ID_MAX, AuthSession, Task, User
from ..schemas import TaskCreate, TaskOut, TaskUpdate
from ..security import now_utc

router = APIRouter(prefix="/tasks", tags=["tasks"])

TaskId = Annotated[int, Path(ge=1, le=ID_MAX, description="A task id from GET /tasks")]
_RESPONSES: dict[int | str, dict[str, Any]] = {401: {"description": "Not signed in"}, 404: {"description": "No such task of yours"}}


# The offline assistant (app/chat.py) works on ORM tasks in its own sync session.
def list_user_tasks(db: Session, user_id: int, completed: bool | None = None) -> list[Task]:
    query = select(Task).where(Task.user_id == user_id)
    if completed is not None:
        query = query.where(Task.completed == completed)
    return list(db.scalars(query.order_by(Task.id)))


def get_user_task(db: Session, user_id: int, task_id: int) -> Task | None:
    if not 1 <= task_id <= ID_MAX:
        return None
    return db.scalar(select(Task).where(Task.id == task_id, Task.user_id == user_id))


# The routes read and write columns, not ORM objects: each is one statement on the async engine
# (autocommit, so no BEGIN/ROLLBACK around it), and the rows go straight to the response model.
_COLUMNS = (Task.id, Task.title, Task.description, Task.completed, Task.created_at, Task.updated_at)


def _listing(*, by_completed: bool) -> str:
    """The busiest read, the token's session check and the task list in one statement, as SQL for the
    read pool: no row means the session is not live; a single row of NULLs, a live one without tasks."""
    tasks_of_user = Task.user_id == User.id
    if by_completed:
        tasks_of_user = and_(tasks_of_user, Task.completed == bindparam("completed"))
    statement = (
        select(*_COLUMNS)
        .select_from(User)
        .join(AuthSession, AuthSession.user_id == User.id)
        .outerjoin(Task, tasks_of_user)
        .where(*LIVE_SESSION)
        .order_by(Task.id)
    )
    return str(statement.compile(dialect=PGDialect_psycopg()))


_LIST = _listing(by_completed=False)
_LIST_BY_COMPLETED = _listing(by_completed=True)

# The other reads are built once, so SQLAlchemy finds their compiled form without rebuilding them per request.
_ONE = select(*_COLUMNS).where(Task.id == bindparam("task_id"), Task.user_id == bindparam("user_id"))


def _mine(user_id: int, task_id: int) -> ColumnElement[bool]:
    return and_(Task.id == task_id, Task.user_id == user_id)


def _found(row: Row[Any] | None) -> Row[Any]:
    if row is None:
        raise HTTPException(status_code=404, detail="Task not found")
    return row


@router.get("", response_model=list[TaskOut], responses=_RESPONSES)
async def list_tasks(
    claims: ClaimsDep,
    pool: ReadPoolDep,
    completed: Annotated[bool | None, Query(description="Only completed (true) or open (false) tasks")] = None,
) -> Any:
    params: dict[str, Any] = {"session_id": claims.session_id, "user_id": claims.user_id, "now": now_utc()}
    if completed is not None:
        params["completed"] = completed
    rows = await pool.fetch_all(_LIST if completed is None else _LIST_BY_COMPLETED, params)
    if not rows:
        raise session_not_live()
    return [] if rows[0]["id"] is None else rows


@router.post("", response_model=TaskOut, status_code=status.HTTP_201_CREATED, responses=_RESPONSES)
async def create_task(body: TaskCreate, principal: PrincipalDep, engine: AsyncDbDep) -> Any:
    values = {"user_id": principal.user_id, "title": body.title, "description": body.description, "completed": False}
    async with engine.connect() as conn:
        return (await conn.execute(insert(Task).values(values).returning(*_COLUMNS))).one()


@router.get("/{task_id}", response_model=TaskOut, responses=_RESPONSES)
async def get_task(task_id: TaskId, principal: PrincipalDep, engine: AsyncDbDep) -> Any:
    async with engine.connect() as conn:
        return _found((await conn.execute(_ONE, {"user_id": principal.user_id, "task_id": task_id})).first())


@router.put("/{task_id}", response_model=TaskOut, responses=_RESPONSES)
async def update_task(task_id: TaskId, body: TaskUpdate, principal: PrincipalDep, engine: AsyncDbDep) -> Any:
    changes = body.model_dump(exclude_unset=True)
    # As with the ORM before: updated_at moves only when a value really changes.
    changed = or_(*(getattr(Task, key).is_distinct_from(value) for key, value in changes.items()))
    statement = (
        update(Task)
        .where(_mine(principal.user_id, task_id))
        .values({**changes, "updated_at": case((changed, func.now()), else_=Task.updated_at)})
        .returning(*_COLUMNS)
    )
    async with engine.connect() as conn:
        return _found((await conn.execute(statement)).first())


@router.delete(
    "/{task_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response, responses=_RESPONSES
)
async def delete_task(task_id: TaskId, principal: PrincipalDep, engine: AsyncDbDep) -> Response:
    async with engine.connect() as conn:
        _found((await conn.execute(delete(Task).where(_mine(principal.user_id, task_id)).returning(Task.id))).first())
    return Response(status_code=status.HTTP_204_NO_CONTENT)
