"""Database tables: users, their login sessions (which make tokens revocable), their tasks, and their
conversations with the assistant."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Length caps shared by the request schemas and the columns, so a value that validates always fits.
EMAIL_MAX = 254
NAME_MAX = 100
TITLE_MAX = 200
DESCRIPTION_MAX = 2000
# Ids are 32-bit serials: anything larger can't exist, and the API refuses it before the database sees it.
ID_MAX = 2_147_483_647


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Stored lower-cased; uniqueness is therefore case-insensitive.
    email: Mapped[str] = mapped_column(String(EMAIL_MAX), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(NAME_MAX), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class AuthSession(Base):
    """One login. Its access tokens carry its id and its current refresh token's jti is kept here,
    so logging out (revoked_at) refuses both kinds of token, and a replayed refresh token is detected."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    refresh_jti: Mapped[str] = mapped_column(String(36), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_user_id_id", "user_id", "id"),)
    # Read server-set timestamps back with RETURNING instead of a second SELECT.
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    title: Mapped[str] = mapped_column(String(TITLE_MAX), nullable=False)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    completed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default="false")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )


class Conversation(Base):
    """One chat thread of one user; its messages are what the model is shown again on the next turn."""

    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_user_id_updated_at", "user_id", "updated_at"),)
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    # The first message, shortened: enough to tell conversations apart in a list.
    title: Mapped[str] = mapped_column(String(TITLE_MAX), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )


class ChatMessage(Base):
    """A user message or the assistant's answer to it. Tool calls are not replayed to the model (a capped
    history could cut a call from its result); the actions a turn took are kept for display instead."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_conversation_id_id", "conversation_id", "id"),)
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False)
    # "user" or "assistant".
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    content: Mapped[str] = mapped_column(Text, nullable=False)
    # What the turn did to tasks, e.g. [{"tool": "add_task", "task_id": 7, "title": "buy milk"}].
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    # Set when the turn failed; content is then the error the user was shown.
    error: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # A failed turn that had streamed words first: content is those words, cut off, then the error.
    partial: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default="false")
    # True when the rule-based offline assistant answered rather than a model.
    offline: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default="false")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class ChatTurn(Base):
    """One model turn of a user, from its start to its end: what the per-user limits count (app/limits.py).

    Kept in the database, not in the process, so the limits hold across replicas. Rows are deleted once
    they are too old to count."""

    __tablename__ = "chat_turns"
    __table_args__ = (Index("ix_chat_turns_user_id_started_at", "user_id", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    # Null while it runs. A turn whose process died never gets one: it stops counting as running once it is
    # older than any turn can last.
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
