"""CRUD for the signed-in user's tasks; another user's task answers 404, as if it did not exist."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..deps import DbDep, PrincipalDep
from ..models import ID_MAX, Task
from ..schemas import TaskCreate, TaskOut, TaskUpdate

router = APIRouter(prefix="/tasks", tags=["tasks"])

TaskId = Annotated[int, Path(ge=1, le=ID_MAX, description="A task id from GET /tasks")]
_RESPONSES: dict[int | str, dict[str, Any]] = {401: {"description": "Not signed in"}, 404: {"description": "No such task of yours"}}


def list_user_tasks(db: Session, user_id: int, completed: bool | None = None) -> list[Task]:
    query = select(Task).where(Task.user_id == user_id)
    if completed is not None:
        query = query.where(Task.completed == completed)
    return list(db.scalars(query.order_by(Task.id)))


def get_user_task(db: Session, user_id: int, task_id: int) -> Task | None:
    if not 1 <= task_id <= ID_MAX:
        return None
    return db.scalar(select(Task).where(Task.id == task_id, Task.user_id == user_id))


def _owned(db: Session, user_id: int, task_id: int) -> Task:
    task = get_user_task(db, user_id, task_id)
    if task is None:
        raise HTTPException(status_code=404, detail="Task not found")
    return task


@router.get("", response_model=list[TaskOut], responses=_RESPONSES)
def list_tasks(
    principal: PrincipalDep,
    db: DbDep,
    completed: Annotated[bool | None, Query(description="Only completed (true) or open (false) tasks")] = None,
) -> list[Task]:
    with db() as session:
        return list_user_tasks(session, principal.user_id, completed)


@router.post("", response_model=TaskOut, status_code=status.HTTP_201_CREATED, responses=_RESPONSES)
def create_task(body: TaskCreate, principal: PrincipalDep, db: DbDep) -> Task:
    with db() as session:
        task = Task(user_id=principal.user_id, title=body.title, description=body.description, completed=False)
        session.add(task)
        session.commit()
        return task


@router.get("/{task_id}", response_model=TaskOut, responses=_RESPONSES)
def get_task(task_id: TaskId, principal: PrincipalDep, db: DbDep) -> Task:
    with db() as session:
        return _owned(session, principal.user_id, task_id)


@router.put("/{task_id}", response_model=TaskOut, responses=_RESPONSES)
def update_task(task_id: TaskId, body: TaskUpdate, principal: PrincipalDep, db: DbDep) -> Task:
    with db() as session:
        task = _owned(session, principal.user_id, task_id)
        for key, value in body.model_dump(exclude_unset=True).items():
            setattr(task, key, value)
        session.commit()
        return task


@router.delete(
    "/{task_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response, responses=_RESPONSES
)
def delete_task(task_id: TaskId, principal: PrincipalDep, db: DbDep) -> Response:
    with db() as session:
        session.delete(_owned(session, principal.user_id, task_id))
        session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
