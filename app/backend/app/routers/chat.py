"""POST /chat: the task assistant, acting on the signed-in user's tasks only."""

from __future__ import annotations

from fastapi import APIRouter

from ..chat import respond
from ..deps import DbDep, PrincipalDep
from ..schemas import ChatIn, ChatOut

router = APIRouter(tags=["chat"])


@router.post(
    "/chat",
    response_model=ChatOut,
    responses={401: {"description": "Not signed in"}},
    description='Understands "add task …", "list my tasks", "complete task N", "reopen task N" and "delete task N" '
    "(N is a task id). Answers in words plus the actions it took, e.g. "
    '{"tool": "add_task", "task_id": 7, "title": "buy milk"}.',
)
def chat(body: ChatIn, principal: PrincipalDep, db: DbDep) -> ChatOut:
    with db() as session:
        reply, actions = respond(session, principal.user_id, body.message)
    return ChatOut(reply=reply, actions=actions)
