"""Request and response bodies. Every string is length-capped and checked to be storable in PostgreSQL."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from .models import DESCRIPTION_MAX, EMAIL_MAX, ID_MAX, NAME_MAX, TITLE_MAX

MESSAGE_MAX = 2000
PASSWORD_MIN = 8
PASSWORD_MAX = 128
# A JWT of ours is ~300 characters; the cap only stops absurd inputs before they reach the decoder.
TOKEN_MAX = 2048

# Deliberately simple: one @, no spaces, a dot in the domain. Deliverability is not the API's concern.
_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]+$")


def _storable(value: str) -> str:
    # PostgreSQL text can't hold NUL, and a lone surrogate (legal in JSON "\ud800") can't be encoded
    # as UTF-8; both would otherwise surface as a 500 from the driver.
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


def _email(value: str) -> str:
    value = value.strip().lower()
    if len(value) > EMAIL_MAX or not _EMAIL_RE.fullmatch(value):
        raise ValueError("must be a valid email address")
    return value


def _strip(value: str) -> str:
    return value.strip()


Storable = AfterValidator(_storable)
Email = Annotated[str, Field(max_length=EMAIL_MAX + 10, examples=["ada@example.com"]), Storable, AfterValidator(_email)]
Password = Annotated[str, Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX), Storable]
LoginPassword = Annotated[str, Field(min_length=1, max_length=PASSWORD_MAX), Storable]
Name = Annotated[str, Field(max_length=NAME_MAX), Storable, AfterValidator(_strip)]
Title = Annotated[str, Field(min_length=1, max_length=TITLE_MAX), Storable, AfterValidator(_stripped_nonempty)]
Description = Annotated[str, Field(max_length=DESCRIPTION_MAX), Storable]
Message = Annotated[str, Field(min_length=1, max_length=MESSAGE_MAX), Storable, AfterValidator(_stripped_nonempty)]
Token = Annotated[str, Field(min_length=1, max_length=TOKEN_MAX), Storable]


class SignupIn(BaseModel):
    email: Email
    password: Password
    name: Name | None = None


class LoginIn(BaseModel):
    email: Email
    password: LoginPassword


class RefreshIn(BaseModel):
    refresh_token: Token


class LogoutIn(BaseModel):
    refresh_token: Token | None = None


class UserOut(BaseModel):
    id: int
    email: str
    name: str


class AuthOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    user: UserOut


class StatusOut(BaseModel):
    status: str


class TaskCreate(BaseModel):
    title: Title
    description: Description | None = None


class TaskUpdate(BaseModel):
    title: Title | None = None
    description: Description | None = None
    completed: bool | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> TaskUpdate:
        if not self.model_fields_set:
            raise ValueError("give at least one of title, description, completed")
        # null clears a description, but a task always has a title and a completion state.
        if "title" in self.model_fields_set and self.title is None:
            raise ValueError("title must not be null")
        if "completed" in self.model_fields_set and self.completed is None:
            raise ValueError("completed must not be null")
        return self


class TaskOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    description: str | None
    completed: bool
    created_at: datetime
    updated_at: datetime


class ChatIn(BaseModel):
    message: Message
    # Continue this conversation (its stored messages go to the model); omit to start a new one.
    conversation_id: Annotated[int, Field(ge=1, le=ID_MAX)] | None = None


class ChatOut(BaseModel):
    reply: str
    actions: list[dict[str, Any]]
    conversation_id: int
    # True when the rule-based offline assistant answered because no model provider is configured.
    offline: bool
    # A sentence the UI can show next to an offline answer.
    notice: str | None = None


class ConversationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    created_at: datetime
    updated_at: datetime


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    role: Literal["user", "assistant"]
    content: str
    actions: list[dict[str, Any]]
    # Set when the turn failed: the error's code, e.g. "timeout" or "rate_limited".
    error: str | None
    # A failed turn whose answer had begun: content is the words streamed before it stopped, then the error.
    partial: bool
    offline: bool
    created_at: datetime


class HealthOut(BaseModel):
    status: str
    database: str
