"""The ``@task`` decorator and the registry the sandbox runner reads.

A task file declares its tasks with ``@task`` (bare) or ``@task(name=..., compute=..., ...)``. The options are
kept exactly as written: the host validates them (and maps ``max_retries`` to its own ``maxRetries``), so the
SDK checks nothing beyond what Python itself enforces.
"""

from __future__ import annotations

import functools
import json
import sys
import urllib.parse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, Literal, ParamSpec, TypedDict, TypeVar, overload

from . import _runtime

if TYPE_CHECKING:
    if sys.version_info >= (3, 11):
        from typing import Unpack
    else:
        from typing_extensions import Unpack

P = ParamSpec("P")
R = TypeVar("R")


class AllowedFile(TypedDict, total=False):
    path: str
    mode: Literal["read-only", "read-write"]


class TaskOptions(TypedDict, total=False):
    """What ``@task(...)`` accepts. Every option is optional; ``name`` defaults to the function's name."""

    #: The task's name; the entry task of a file is the one named "main" unless another is chosen.
    name: str
    #: Fuel: "LOW", "MEDIUM" (default), "HIGH", or a positive integer.
    compute: str | int
    #: Memory cap: "512KB", "64MB", "1GB" or bytes. Default "256MB".
    ram: str | int
    #: Wall-clock limit: "500ms", "30s", "2m" or milliseconds. Default "60s".
    timeout: str | int
    #: Retries in pipelines (an integer >= 0). Default 0.
    max_retries: int
    #: Directories the task may use, relative to the task's directory; a plain string is read-only.
    allowed_files: list[str | AllowedFile]
    #: Hosts the task may reach: "api.example.com", "*.example.org", "127.0.0.1:8080". Empty: no network. Loopback
    #: and private addresses only when listed literally with their port.
    allowed_hosts: list[str]
    #: Host environment variables the task can see in os.environ.
    env_variables: list[str]
    #: Secrets and the hosts their values may be sent to: {"OPENAI_API_KEY": ["api.openai.com"]}. os.environ holds a
    #: placeholder; Capsule puts the real value in request headers to those hosts only.
    secrets: dict[str, list[str]]
    #: Cap on each HTTP response body: "10MB" (default), "512KB" or bytes.
    max_response_size: str | int


class Task(Generic[P, R]):
    """A task function. Calling it outside Capsule, or while the task file is loading, calls the function.

    Inside Capsule, calling it while a task is running starts it as a sub-task in its own sandbox (with the
    options this file declares for it) and returns the sub-task's result envelope, a dict such as
    ``{"success": True, "result": ..., "error": None, "execution": {...}}``. Because the result's shape depends
    on where the file runs, ``__call__`` is typed as returning ``Any``.
    """

    def __init__(self, fn: Callable[P, R], options: dict[str, Any]) -> None:
        self.fn = fn
        self.options = options
        functools.update_wrapper(self, fn)

    @property
    def name(self) -> str:
        name = self.options.get("name")
        return name if isinstance(name, str) else self.fn.__name__

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Any:
        transport = _runtime.subtask_transport()
        if transport is None:
            return self.fn(*args, **kwargs)
        if kwargs:
            raise TypeError(f'sub-task "{self.name}": arguments are passed positionally (got keyword arguments)')
        return _call_subtask(transport, self.name, list(args))

    def __repr__(self) -> str:
        return f"<capsule task {self.name!r}>"


#: Every task declared since the runner last cleared it, in declaration order.
registry: list[Task[Any, Any]] = []


def _call_subtask(transport: _runtime.Transport, name: str, args: list[Any]) -> dict[str, Any]:
    try:
        body = json.dumps({"args": args}, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise TypeError(f'sub-task "{name}": arguments must be JSON-serialisable ({error})') from None
    url = f"http://{_runtime.SUBTASK_HOST}/{urllib.parse.quote(name, safe='')}"
    try:
        response = transport.send("POST", url, [("content-type", "application/json")], body.encode())
    except _runtime.RequestDenied:
        raise RuntimeError(f'sub-task "{name}" could not start: sub-tasks are not available here') from None
    text = response.body.decode("utf-8", errors="replace")
    if response.status != 200:
        raise RuntimeError(f'sub-task "{name}" could not start: {text}')
    envelope: dict[str, Any] = json.loads(text)
    return envelope


@overload
def task(fn: Callable[P, R], /) -> Task[P, R]: ...
@overload
def task(**options: Unpack[TaskOptions]) -> Callable[[Callable[P, R]], Task[P, R]]: ...
def task(fn: Callable[..., Any] | None = None, /, **options: Any) -> Any:
    """Declare a task: ``@task`` or ``@task(name="main", compute="LOW", allowed_hosts=[...])``."""
    if fn is not None:
        if options or not callable(fn):
            raise TypeError("use @task or @task(name=..., ...): options are keyword arguments")
        return _register(fn, {})

    def decorate(function: Callable[P, R]) -> Task[P, R]:
        if not callable(function):
            raise TypeError("@task(...) must decorate a function")
        return _register(function, dict(options))

    return decorate


def _register(fn: Callable[P, R], options: dict[str, Any]) -> Task[P, R]:
    if "name" not in options:
        options = {"name": fn.__name__, **options}
    declared = Task(fn, options)
    registry.append(declared)
    return declared
