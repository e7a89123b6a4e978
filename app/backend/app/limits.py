"""Fair use of the model: per user, at most CHAT_MAX_CONCURRENT_TURNS turns at once and CHAT_TURNS_PER_MINUTE
turns begun in any minute. A turn over either limit is refused before anything runs (429 with Retry-After).

The count lives in PostgreSQL (`chat_turns`), so it holds across every backend replica; one advisory lock per
user makes checking and recording a start one step, so two requests at once cannot both take the last place.
Functions take a Session and commit their own work; callers run them in a worker thread."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from .config import Settings

# The advisory lock's first key: the user id is the second. Any constant works, as long as nothing else uses it.
_LOCK_SPACE = 0x7A5C_C4A7
# How long a running turn waits for the next try to be worth it; its real end is unknown.
BUSY_RETRY_AFTER_SECONDS = 5


class TurnRefused(Exception):
    """A limit is reached. `message` is for the user; `retry_after` is in whole seconds."""

    def __init__(self, code: str, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after


@dataclass(frozen=True)
class Limits:
    concurrent: int
    per_minute: int
    # A turn not finished after this long stopped with its process; it no longer counts as running.
    stale_seconds: int

    @property
    def active(self) -> bool:
        return self.concurrent > 0 or self.per_minute > 0


def limits_of(settings: Settings) -> Limits:
    # A turn's model part is bounded by CHAT_TIMEOUT_SECONDS; its tool calls (30 s each at most) and storing are not.
    return Limits(settings.chat_max_concurrent_turns, settings.chat_turns_per_minute, settings.chat_timeout_seconds + 120)


def start_turn(db: Session, user_id: int, limits: Limits) -> int:
    """Records a turn of `user_id` as begun and returns its id, or raises TurnRefused when a limit is reached."""
    db.execute(text("SELECT pg_advisory_xact_lock(:space, :user)"), {"space": _LOCK_SPACE, "user": user_id})
    # Nothing older than this counts for either limit.
    keep = max(limits.stale_seconds, 60)
    db.execute(
        text("DELETE FROM chat_turns WHERE user_id = :user AND started_at < now() - make_interval(secs => :keep)"),
        {"user": user_id, "keep": keep},
    )
    running, recent, wait = db.execute(
        text(
            "SELECT count(*) FILTER (WHERE finished_at IS NULL AND started_at > now() - make_interval(secs => :stale)),"
            " count(*) FILTER (WHERE started_at > now() - interval '1 minute'),"
            " extract(epoch FROM min(started_at) FILTER (WHERE started_at > now() - interval '1 minute')"
            "   + interval '1 minute' - now())"
            " FROM chat_turns WHERE user_id = :user"
        ),
        {"user": user_id, "stale": limits.stale_seconds},
    ).one()
    if limits.concurrent and running >= limits.concurrent:
        db.rollback()
        one = "a message" if limits.concurrent == 1 else f"{limits.concurrent} messages"
        raise TurnRefused(
            "turn_in_progress",
            f"The assistant is still answering your previous message (at most {one} at a time). "
            "Please wait for it to finish, then send this one.",
            BUSY_RETRY_AFTER_SECONDS,
        )
    if limits.per_minute and recent >= limits.per_minute:
        db.rollback()
        retry = max(1, math.ceil(float(wait or 0)))
        raise TurnRefused(
            "too_many_turns",
            f"You have sent {limits.per_minute} messages to the assistant in the last minute, the most allowed. "
            f"Please try again in {retry} s.",
            retry,
        )
    turn_id = db.execute(text("INSERT INTO chat_turns (user_id) VALUES (:user) RETURNING id"), {"user": user_id}).scalar_one()
    db.commit()
    return int(turn_id)


def finish_turn(db: Session, turn_id: int) -> None:
    """The turn ended: it no longer runs, and still counts for the minute it began in. The caller commits."""
    db.execute(text("UPDATE chat_turns SET finished_at = now() WHERE id = :id"), {"id": turn_id})


def drop_turn(db: Session, turn_id: int) -> None:
    """The turn never ran (its conversation was not the user's): it counts for nothing."""
    db.execute(text("DELETE FROM chat_turns WHERE id = :id"), {"id": turn_id})
    db.commit()
