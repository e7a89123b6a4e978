"""The six task tools, their typed arguments (which become each tool's JSON Schema) and their results.

No tool takes a user id: each reads the caller from the request's verified token (identity.py).
A task of another user answers exactly like a task that does not exist: "Task N not found"."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Annotated, Any, Literal, TypeVar

import anyio.to_thread
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.mcpserver.tools import Tool
from mcp_types import ToolAnnotations
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from .identity import caller_id
from .store import DESCRIPTION_MAX, ID_MAX, TITLE_MAX, TaskRow, TaskStore, UnknownUser, db_error_summary

log = logging.getLogger("taskflow_mcp.tools")
T = TypeVar("T")


def _storable(value: str) -> str:
    # PostgreSQL text can't hold NUL, and a lone surrogate (legal in JSON "\ud800") can't be encoded
    # as UTF-8; both would otherwise fail in the driver instead of here, with a reason.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def _stripped_nonempty(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


# The same limits as the backend's request schemas. Ids and flags are strict: "5" or 1 for true is
# refused rather than guessed at, so what the model sends is what it meant.
Title = Annotated[
    str,
    Field(min_length=1, max_length=TITLE_MAX, description=f"What to do, 1-{TITLE_MAX} characters"),
    AfterValidator(_storable),
    AfterValidator(_stripped_nonempty),
]
Description = Annotated[
    str,
    Field(max_length=DESCRIPTION_MAX, description=f"Optional details, up to {DESCRIPTION_MAX} characters"),
    AfterValidator(_storable),
]
TaskId = Annotated[int, Field(strict=True, ge=1, le=ID_MAX, description="The task's id, as list_tasks shows it")]
Flag = Annotated[bool, Field(strict=True)]


class TaskOut(BaseModel):
    id: int
    title: str
    description: str | None
    completed: bool
    created_at: datetime
    updated_at: datetime


class TaskList(BaseModel):
    tasks: list[TaskOut] = Field(description="Oldest first")
    count: int


class Deleted(BaseModel):
    id: int
    deleted: Literal[True] = True


def _out(row: TaskRow) -> TaskOut:
    return TaskOut(
        id=row.id,
        title=row.title,
        description=row.description,
        completed=row.completed,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def _run(fn: Callable[..., T], *args: Any) -> T:
    """Runs a blocking database call on a worker thread; database trouble becomes a message the model can act on."""
    try:
        return await anyio.to_thread.run_sync(partial(fn, *args))
    except (OperationalError, InterfaceError, PoolTimeoutError) as exc:
        log.warning("%s: database unavailable (%s)", fn.__name__, db_error_summary(exc))
        raise ToolError("Database unavailable, try again shortly") from None
    except UnknownUser:
        raise ToolError("Your account no longer exists") from None


def _not_found(task_id: int) -> ToolError:
    return ToolError(f"Task {task_id} not found")


def _argument_errors(exc: ValidationError) -> str:
    """Each refused argument and the rule it broke ("title: String should have at most 200 characters").

    pydantic's own report repeats each rejected value (`input_value=...`): a whole paragraph the model sent
    as a title, sent straight back to it and on to the provider. The argument and the rule are what it acts on."""
    problems = []
    for err in exc.errors(include_url=False, include_input=False, include_context=False):
        where = ".".join(str(p) for p in err["loc"]) or "arguments"
        problems.append(f"{where}: {err['msg']}")
    return "invalid arguments: " + "; ".join(problems)


class _StrictTool(Tool):
    """A tool whose refused arguments are reported as argument and rule, never with the value that was sent."""

    async def run(self, arguments: dict[str, Any], context: Any, convert_result: bool = False) -> Any:
        try:
            return await super().run(arguments, context, convert_result=convert_result)
        except ToolError as exc:
            # The SDK reports a ValidationError of the arguments as a ToolError caused by it.
            if isinstance(exc.__cause__, ValidationError) and not isinstance(exc, UnexpectedToolError):
                raise ToolError(f"Error executing tool {self.name}: {_argument_errors(exc.__cause__)}") from None
            raise


def _strict(tool: Tool) -> Tool:
    """Refuses unknown arguments instead of dropping them.

    The SDK's argument models ignore keys they don't declare, so {"task_id": 3, "user_id": 9} would
    run as {"task_id": 3} and the model would never learn its user_id went nowhere. The stricter
    model answers "Extra inputs are not permitted" and publishes additionalProperties: false."""
    loose = tool.fn_metadata.arg_model
    strict = type(
        loose.__name__,
        (loose,),
        {"model_config": ConfigDict(extra="forbid", arbitrary_types_allowed=True), "__module__": __name__},
    )
    tool.fn_metadata.arg_model = strict
    tool.parameters = strict.model_json_schema(by_alias=True)
    return tool


def build_tools(store: TaskStore) -> list[Tool]:
    async def add_task(title: Title, description: Description | None = None) -> TaskOut:
        """Add a task to the user's list. Returns the new task, with the id the other tools take."""
        user = caller_id()
        return _out(await _run(store.add_task, user, title, description or None))

    async def list_tasks(
        completed: Annotated[
            Flag | None, Field(description="true: only done tasks; false: only open ones; leave out for all")
        ] = None,
    ) -> TaskList:
        """List the user's tasks, oldest first, with their ids."""
        user = caller_id()
        rows = await _run(store.list_tasks, user, completed)
        return TaskList(tasks=[_out(r) for r in rows], count=len(rows))

    async def complete_task(task_id: TaskId) -> TaskOut:
        """Mark one of the user's tasks as done."""
        user = caller_id()
        row = await _run(store.update_task, user, task_id, {"completed": True})
        if row is None:
            raise _not_found(task_id)
        return _out(row)

    async def reopen_task(task_id: TaskId) -> TaskOut:
        """Mark one of the user's done tasks as open again."""
        user = caller_id()
        row = await _run(store.update_task, user, task_id, {"completed": False})
        if row is None:
            raise _not_found(task_id)
        return _out(row)

    async def update_task(
        task_id: TaskId,
        title: Annotated[Title | None, Field(description="New title. Leave out to keep it.")] = None,
        description: Annotated[
            Description | None,
            Field(description="New details; an empty string removes them. Leave out to keep them."),
        ] = None,
        completed: Annotated[Flag | None, Field(description="true marks it done, false open")] = None,
    ) -> TaskOut:
        """Change one of the user's tasks: any of its title, description and completed state. Arguments
        left out stay as they are."""
        changes: dict[str, Any] = {}
        if title is not None:
            changes["title"] = title
        if description is not None:
            changes["description"] = description or None
        if completed is not None:
            changes["completed"] = completed
        if not changes:
            raise ToolError("Nothing to change: give at least one of title, description, completed")
        user = caller_id()
        row = await _run(store.update_task, user, task_id, changes)
        if row is None:
            raise _not_found(task_id)
        return _out(row)

    async def delete_task(task_id: TaskId) -> Deleted:
        """Delete one of the user's tasks for good."""
        user = caller_id()
        if not await _run(store.delete_task, user, task_id):
            raise _not_found(task_id)
        return Deleted(id=task_id)

    return [
        _strict(_StrictTool.from_function(add_task, title="Add a task", annotations=ToolAnnotations(destructive_hint=False))),
        _strict(_StrictTool.from_function(list_tasks, title="List tasks", annotations=ToolAnnotations(read_only_hint=True))),
        _strict(
            _StrictTool.from_function(
                complete_task, title="Complete a task", annotations=ToolAnnotations(idempotent_hint=True)
            )
        ),
        _strict(
            _StrictTool.from_function(reopen_task, title="Reopen a task", annotations=ToolAnnotations(idempotent_hint=True))
        ),
        _strict(_StrictTool.from_function(update_task, title="Change a task", annotations=ToolAnnotations(idempotent_hint=True))),
        _strict(
            _StrictTool.from_function(delete_task, title="Delete a task", annotations=ToolAnnotations(destructive_hint=True))
        ),
    ]
