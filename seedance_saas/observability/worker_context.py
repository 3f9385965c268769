"""django-q2 workers: every line a task logs carries the task's name, id and attempt."""

from __future__ import annotations

import structlog
from django.db import DatabaseError
from django_q.models import Task

# In sync mode (tests, Q_SYNC=1) a task runs inside its caller, e.g. a request: its context is put back after.
_saved_contexts: list[dict] = []


def _attempt(task_id: str | None) -> int | None:
    """1 on the first run; a task the broker delivers again after a failure or a lost worker counts up."""
    if not task_id:
        return 1
    try:
        previous = Task.objects.filter(id=task_id).values_list("attempt_count", flat=True).first()
    except DatabaseError:
        return None  # logging context must never stop a task from running
    return (previous or 0) + 1


def task_started(sender, func, task: dict, **kwargs) -> None:
    _saved_contexts.append(structlog.contextvars.get_contextvars())
    if not task.get("sync"):
        structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(
        task=task.get("name") or "",
        task_func=str(task.get("func")),
        task_id=task.get("id"),
        attempt=_attempt(task.get("id")),
    )


def task_finished(sender, func, task: dict, **kwargs) -> None:
    structlog.contextvars.clear_contextvars()
    if _saved_contexts:
        saved = _saved_contexts.pop()
        if task.get("sync"):
            structlog.contextvars.bind_contextvars(**saved)


def connect() -> None:
    from django_q.signals import post_execute_in_worker, pre_execute

    pre_execute.connect(task_started, dispatch_uid="observability.task_started")
    post_execute_in_worker.connect(task_finished, dispatch_uid="observability.task_finished")
