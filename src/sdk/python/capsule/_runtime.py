"""The seam between the SDK and Capsule's Python runner.

Outside Capsule nothing here is installed and the SDK behaves like an ordinary library: calling a task calls
its function, ``capsule.http`` uses urllib. Inside the sandbox the runner (src/sandbox/guest-python) calls
:func:`install` once per run with its HTTP transport, which goes through the host's ``wasi:http`` allowlist,
and marks the time a task is running with :func:`running_task`; while it is, calling a ``@task`` function
starts a sub-task instead of calling the function in place.
"""

from __future__ import annotations

import contextlib
import urllib.error
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

#: Sub-task calls leave the guest as an HTTP request to this origin; the host routes them to its pool and they
#: never reach a network (shared with the JavaScript runner: src/sandbox/guest/protocol.ts).
SUBTASK_HOST = "capsule-subtask.internal"

Headers = Sequence[tuple[str, str]]


@dataclass(frozen=True)
class RawResponse:
    """A complete HTTP response as the sandbox transport returns it: the body is always read in full."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


class Transport(Protocol):
    """Sends one HTTP request and waits for the whole response (the guest has no event loop)."""

    def send(self, method: str, url: str, headers: Headers, body: bytes | None) -> RawResponse: ...


class RequestDenied(urllib.error.URLError, PermissionError):
    """The sandbox refused an HTTP request: its host is not in the task's ``allowed_hosts``, the name resolves to an
    address the task may not reach, a redirect led somewhere it may not go, or it carried a secret where the secret
    may not be sent. The run's ``denials`` say which.

    A ``URLError`` so that code written against urllib handles it like any failed request, and a
    ``PermissionError`` because that is what it is.
    """

    __module__ = "capsule"  # how tracebacks name it: it is exported as capsule.RequestDenied

    def __init__(self, url: str, authority: str) -> None:
        message = (
            f"the request to {url} was denied by the Capsule sandbox (host \"{authority}\"): see the run's denials "
            "for why (allowed_hosts, a private address, a redirect, or a secret sent where it may not go)"
        )
        super().__init__(message)
        self.url = url
        self.authority = authority

    def __str__(self) -> str:
        return str(self.reason)


_transport: Transport | None = None
_running = False


def install(transport: Transport) -> None:
    """Called by the runner inside the sandbox; never by task code."""
    global _transport
    _transport = transport


@contextlib.contextmanager
def running_task() -> Iterator[None]:
    """The runner wraps the entry task's call in this: task calls made meanwhile become sub-tasks."""
    global _running
    previous, _running = _running, True
    try:
        yield
    finally:
        _running = previous


def subtask_transport() -> Transport | None:
    """The transport to start sub-tasks with, or None when a task call should simply call the function."""
    return _transport if _running else None
