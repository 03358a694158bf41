"""``capsule.context()``: which run of which step this is, so a task can make its side effects idempotent.

In a pipeline a step may run more than once: a lost attempt (its worker died, or the server lost track of it) may
have done part of its work before the step ran again. ``context().idempotency_key`` is the same on every attempt of
a step, and different for each new run of the pipeline: pass it to the APIs the task calls (an ``Idempotency-Key``
header, a unique key in a database) so that repeating the step does not repeat its effect.

Inside Capsule's sandbox the runner connects :func:`context` to the host (:func:`install`). Outside
a pipeline (``capsule exec``) the ids are ``None`` and the key is fresh for each run; run natively (plain CPython)
the ids are ``None`` and the key is fixed for the life of the process.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Optional


@dataclass(frozen=True)
class TaskContext:
    """Where a run belongs (see the module's documentation)."""

    #: The Temporal workflow (pipeline run) id; None outside a pipeline.
    workflow_id: Optional[str]
    #: The workflow's current run id; None outside a pipeline.
    run_id: Optional[str]
    #: The step id, with the item index for a fan-out ("fetch[2]"); None outside a pipeline.
    step_id: Optional[str]
    #: 1 on the first attempt; counts every attempt, lost ones included.
    attempt: int
    #: 32 hex characters: the same for every attempt of a step, new for each run.
    idempotency_key: str


_provider: Optional[Callable[[], str]] = None
_current: Optional[TaskContext] = None
_native: Optional[TaskContext] = None


def install(provider: Callable[[], str]) -> None:
    """Called by the runner inside the sandbox, once per run: ``provider`` asks the host for the run's context as
    JSON ("null" while Capsule reads the task options). It is asked only when the task calls :func:`context`, so
    values that differ from run to run never reach a task that does not (its fuel stays the same for the same input)."""
    global _provider, _current
    _provider = provider
    _current = None


def context() -> TaskContext:
    """Which run of which step this is: workflow and run id, step id, attempt and the step's idempotency key."""
    global _current, _native
    if _provider is None:
        if _native is None:
            _native = TaskContext(workflow_id=None, run_id=None, step_id=None, attempt=1, idempotency_key=uuid.uuid4().hex)
        return _native
    if _current is None:
        raw = json.loads(_provider())
        if not isinstance(raw, dict):
            raise RuntimeError("context() is only available while a task runs (not while Capsule reads the task options)")
        _current = _from_host(raw)
    return _current


def _from_host(raw: Mapping[str, Any]) -> TaskContext:
    def text(key: str) -> Optional[str]:
        value = raw.get(key)
        return value if isinstance(value, str) else None

    attempt = raw.get("attempt")
    return TaskContext(
        workflow_id=text("workflowId"),
        run_id=text("runId"),
        step_id=text("stepId"),
        attempt=attempt if isinstance(attempt, int) and attempt >= 1 else 1,
        idempotency_key=text("idempotencyKey") or uuid.uuid4().hex,
    )
