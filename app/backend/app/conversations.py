"""Conversations and their messages: opened (or created) at the start of a turn, written at its end.

Functions take a Session and commit their own work; callers run them in a worker thread."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .models import TITLE_MAX, ChatMessage, Conversation


class ConversationNotFound(Exception):
    """No conversation with that id belongs to this user (another user's looks exactly the same)."""


def _title(message: str) -> str:
    text = " ".join(message.split())
    return text if len(text) <= 80 else text[:79].rstrip() + "…"


def open_conversation(db: Session, user_id: int, conversation_id: int | None, message: str) -> int:
    """The id of the user's conversation `conversation_id`, or of a new one titled after `message`."""
    if conversation_id is not None:
        found = db.scalar(select(Conversation.id).where(Conversation.id == conversation_id, Conversation.user_id == user_id))
        if found is None:
            raise ConversationNotFound()
        return found
    conversation = Conversation(user_id=user_id, title=_title(message)[:TITLE_MAX])
    db.add(conversation)
    db.commit()
    return conversation.id


def recent_history(db: Session, conversation_id: int, limit: int) -> list[dict[str, str]]:
    """The last `limit` stored messages, oldest first, as chat-completions messages."""
    if limit <= 0:
        return []
    rows = db.execute(
        select(ChatMessage.role, ChatMessage.content)
        .where(ChatMessage.conversation_id == conversation_id)
        .order_by(ChatMessage.id.desc())
        .limit(limit)
    ).all()
    return [{"role": role, "content": content} for role, content in reversed(rows)]


def save_turn(
    db: Session, conversation_id: int, *, message: str, reply: str, actions: list[dict[str, Any]],
    error: str | None = None, offline: bool = False, partial: bool = False,
) -> None:
    """Stores the user's message and the answer (or the error the user was shown, after any words they saw) together."""
    db.add(ChatMessage(conversation_id=conversation_id, role="user", content=message, actions=[], offline=offline))
    db.add(
        ChatMessage(
            conversation_id=conversation_id, role="assistant", content=reply, actions=actions, error=error, offline=offline,
            partial=partial,
        )
    )
    conversation = db.get(Conversation, conversation_id)
    if conversation is not None:
        conversation.updated_at = func.now()
    db.commit()


def list_conversations(db: Session, user_id: int) -> list[Conversation]:
    return list(
        db.scalars(
            select(Conversation).where(Conversation.user_id == user_id).order_by(Conversation.updated_at.desc(), Conversation.id.desc())
        )
    )


def list_messages(db: Session, user_id: int, conversation_id: int) -> list[ChatMessage]:
    owned = db.scalar(select(Conversation.id).where(Conversation.id == conversation_id, Conversation.user_id == user_id))
    if owned is None:
        raise ConversationNotFound()
    return list(db.scalars(select(ChatMessage).where(ChatMessage.conversation_id == conversation_id).order_by(ChatMessage.id)))
