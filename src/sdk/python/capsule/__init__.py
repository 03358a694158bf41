"""Capsule's Python task-authoring API.

    from capsule import context, task, http

    @task(name="main", compute="LOW", allowed_hosts=["api.example.com"])
    def main(city: str) -> dict:
        return http.get("https://api.example.com/weather", params={"q": city}).json()

The same file runs unmodified inside Capsule's WebAssembly sandbox (where the options are enforced) and with
plain CPython, where calling a task just calls its function.
"""

from . import http
from ._context import TaskContext, context
from ._runtime import RequestDenied
from ._task import AllowedFile, Task, TaskOptions, task

__all__ = ["task", "context", "http", "Task", "TaskContext", "TaskOptions", "AllowedFile", "RequestDenied"]
__version__ = "0.1.0"
