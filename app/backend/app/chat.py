"""The offline task assistant: a deterministic rule-based parser that turns a chat message into task
actions. It answers only when no model provider is configured (see routers/chat.py), so the app works
with no network; it never stands in for a model that failed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.orm import Session

from .models import ID_MAX, TITLE_MAX, Task
from .routers.tasks import get_user_task, list_user_tasks

Intent = Literal["add", "list", "complete", "reopen", "delete", "help", "greet", "unknown"]


@dataclass(frozen=True)
class Command:
    intent: Intent
    title: str = ""
    task_ref: str = ""
    # For "list": None = all, True = done only, False = open only.
    completed: bool | None = None


_POLITE = r"(?:(?:please|pls|could you|can you|would you|kindly)[\s,]+)*"
_TASK = r"(?:the\s+)?(?:task|todo|to-do|item)s?"
_REF = r"#?\s*(\d+)"

_ADD = [
    re.compile(rf"^{_POLITE}(?:add|create|make|new)\s+(?:a\s+|an\s+)?(?:new\s+)?{_TASK}\b\s*(?:to\s+|called\s+|named\s+|:|-)?\s*(?P<title>.+)$", re.I | re.S),
    re.compile(rf"^{_POLITE}add\s+(?P<title>.+?)\s+to\s+(?:my\s+)?(?:task|todo|to-do)\s*list$", re.I | re.S),
    re.compile(rf"^{_POLITE}remind\s+me\s+to\s+(?P<title>.+)$", re.I | re.S),
    re.compile(rf"^{_POLITE}(?:todo|to-do)\s*:\s*(?P<title>.+)$", re.I | re.S),
]
_LIST = re.compile(
    rf"^{_POLITE}(?:(?:list|show|display|view|get|see)\s+(?:me\s+)?(?:all\s+)?(?:of\s+)?(?:my\s+|the\s+)?"
    r"(?P<f1>open|pending|incomplete|unfinished|remaining|completed|done|finished)?\s*(?:tasks?|todos?|to-dos?)"
    r"|what(?:'s|\s+is|\s+are)\s+(?:on\s+)?(?:my\s+)?(?P<f2>open|pending|completed|done)?\s*(?:tasks?|todos?|to-dos?|list)"
    r"|(?:my\s+)?(?P<f3>open|pending|completed|done)?\s*(?:tasks?|todos?|to-dos?)\??)"
    r"(?:\s+(?:please|pls))?\s*[?.!]*$",
    re.I,
)
_COMPLETE = [
    re.compile(rf"^{_POLITE}(?:complete|finish|check\s+off|tick\s+off|close)\s+{_TASK}\s*{_REF}", re.I),
    re.compile(rf"^{_POLITE}mark\s+{_TASK}\s*{_REF}\s+(?:as\s+)?(?:done|complete|completed|finished)", re.I),
    re.compile(rf"^{_POLITE}(?:i\s+)?(?:finished|completed|did)\s+{_TASK}\s*{_REF}", re.I),
    re.compile(rf"^{_POLITE}{_TASK}\s*{_REF}\s+(?:is\s+)?(?:done|complete|completed|finished)", re.I),
]
_REOPEN = [
    re.compile(rf"^{_POLITE}(?:reopen|uncomplete|undo|restore)\s+{_TASK}\s*{_REF}", re.I),
    re.compile(rf"^{_POLITE}mark\s+{_TASK}\s*{_REF}\s+(?:as\s+)?(?:not\s+done|undone|incomplete|open|pending)", re.I),
]
_DELETE = re.compile(rf"^{_POLITE}(?:delete|remove|drop|erase|cancel|trash)\s+{_TASK}\s*{_REF}", re.I)
# "complete task" with no number, or with something that isn't one: answer with a hint, not a guess.
_NEEDS_NUMBER = re.compile(
    rf"^{_POLITE}(?P<verb>complete|finish|delete|remove|mark|reopen)\s+{_TASK}\b(?!\s*#?\s*\d)", re.I
)
_HELP = re.compile(r"^\s*(?:help|\?|what can you do\??|commands|how does this work\??)\s*[.!?]*\s*$", re.I)
_GREET = re.compile(r"^\s*(?:hi|hello|hey|good\s+(?:morning|afternoon|evening))\b[\s!.,]*(?:there)?[\s!.]*$", re.I)

HELP_TEXT = (
    'I can manage your tasks. Try: "add task buy milk", "list my tasks", "list completed tasks", '
    '"complete task 3", "reopen task 3" or "delete task 3" (numbers are the task ids shown by "list my tasks").'
)

_DONE_WORDS = {"completed", "done", "finished"}


def parse(message: str) -> Command:
    text = " ".join(message.split())
    if _HELP.match(text):
        return Command("help")
    if _GREET.match(text):
        return Command("greet")
    if m := _DELETE.match(text):
        return Command("delete", task_ref=m.group(1))
    for pattern in _REOPEN:
        if m := pattern.match(text):
            return Command("reopen", task_ref=m.group(1))
    for pattern in _COMPLETE:
        if m := pattern.match(text):
            return Command("complete", task_ref=m.group(1))
    if m := _LIST.match(text):
        word = (m.group("f1") or m.group("f2") or m.group("f3") or "").lower()
        completed = None if not word else word in _DONE_WORDS
        return Command("list", completed=completed)
    if _NEEDS_NUMBER.match(text):
        return Command("unknown", task_ref="missing")
    for pattern in _ADD:
        if m := pattern.match(text):
            title = m.group("title").strip().strip("\"'“”‘’").strip().rstrip(".!").strip()
            if title:
                return Command("add", title=title)
    return Command("unknown")


def _describe(task: Task) -> str:
    mark = "✓" if task.completed else "○"
    return f"{mark} #{task.id} {task.title}"


def _find(db: Session, user_id: int, ref: str) -> Task | None:
    # Digits only reach here; a 40-digit number is simply not one of the user's tasks.
    if len(ref) > 10 or int(ref) > ID_MAX:
        return None
    return get_user_task(db, user_id, int(ref))


def respond(db: Session, user_id: int, message: str) -> tuple[str, list[dict[str, Any]]]:
    """Carries out the message for this user and returns (reply, actions taken). Commits its changes."""
    cmd = parse(message)
    if cmd.intent == "add":
        title = cmd.title
        if len(title) > TITLE_MAX:
            return f"That title is too long: tasks can have at most {TITLE_MAX} characters.", []
        new = Task(user_id=user_id, title=title, completed=False)
        db.add(new)
        db.commit()
        return f'Added task #{new.id}: "{new.title}".', [{"tool": "add_task", "task_id": new.id, "title": new.title}]

    if cmd.intent == "list":
        tasks = list_user_tasks(db, user_id, cmd.completed)
        kind = {None: "", True: "completed ", False: "open "}[cmd.completed]
        action: dict[str, Any] = {
            "tool": "list_tasks",
            "count": len(tasks),
            "tasks": [{"task_id": t.id, "title": t.title, "completed": t.completed} for t in tasks],
        }
        if cmd.completed is not None:
            action["completed"] = cmd.completed
        if not tasks:
            return f"You have no {kind}tasks.", [action]
        noun = "task" if len(tasks) == 1 else "tasks"
        lines = "\n".join(_describe(t) for t in tasks)
        return f"You have {len(tasks)} {kind}{noun}:\n{lines}", [action]

    if cmd.intent in ("complete", "reopen", "delete"):
        task = _find(db, user_id, cmd.task_ref)
        if task is None:
            return f'I couldn\'t find task #{cmd.task_ref}. Say "list my tasks" to see their numbers.', []
        task_id, title = task.id, task.title
        if cmd.intent == "delete":
            db.delete(task)
            db.commit()
            return f'Deleted task #{task_id}: "{title}".', [{"tool": "delete_task", "task_id": task_id, "title": title}]
        want = cmd.intent == "complete"
        if task.completed == want:
            state = "already done" if want else "already open"
            return f'Task #{task_id} "{title}" is {state}.', []
        task.completed = want
        db.commit()
        tool = "complete_task" if want else "reopen_task"
        verb = "Completed" if want else "Reopened"
        return f'{verb} task #{task_id}: "{title}".', [{"tool": tool, "task_id": task_id, "title": title}]

    if cmd.intent == "greet":
        return "Hello! " + HELP_TEXT, []
    if cmd.intent == "unknown" and cmd.task_ref == "missing":
        return 'Which task? Give its number, e.g. "complete task 3" (see "list my tasks").', []
    if cmd.intent == "help":
        return HELP_TEXT, []
    return "Sorry, I didn't understand that. " + HELP_TEXT, []
