"""Entry of the Python runner component (componentize-py / CPython), the counterpart of ../guest/runner.ts.

The component is built once; the host instantiates a fresh copy for every run and calls ``run`` once, so state
may live in module globals for the length of one run. Importing this module (at build time, for the snapshot)
touches no capability: the sandbox hooks are installed by ``run`` itself. ``run`` loads the task's files (sent by
the host as JSON, see capsule_imports) and then lists the tasks ("describe") or runs one ("run"). Nothing here
is trusted: every capability is enforced by the host's imports, and this module only shapes what Python sees.

Failures leave ``run`` as the WIT ``err`` case, a JSON ``{"kind", "message", "stack"}`` (protocol.ts).
"""

from __future__ import annotations

import ast
import inspect
import json
import linecache
import math
import os
import posixpath
import random
import sys
import traceback
import types
from collections.abc import Mapping
from typing import Any, Optional

import capsule_env
import capsule_files
import capsule_imports
import capsule_net
import capsule_stdlib  # noqa: F401  (the standard library modules the snapshot holds)
import wit_world
from capsule import _context, _runtime
from capsule._task import Task, registry
from componentize_py_types import Err
from wit_world.imports import host

# The runner's own JSON functions, taken before any task code runs: a task that replaces ``json.dumps`` changes
# its own serialisation, not the runner's. (The host still reads every reply as untrusted.)
_dumps = json.dumps
_loads = json.loads

# Frames in these files are the runner's, not the task's: stack traces leave them out.
_RUNNER_FILES = frozenset(
    module.__file__
    for module in (sys.modules[__name__], capsule_env, capsule_files, capsule_imports, capsule_net)
    if module.__file__
)

_UNAVAILABLE = (
    'module "{name}" is not available in the Capsule Python sandbox: only the standard library modules built '
    "into the runner and the task's own files can be imported (packages with C extensions such as numpy cannot "
    "run in WebAssembly)"
)
_NOT_SENT = 'module "{name}" is not among the task\'s files: only local modules the task file imports are sent with it'


class GuestFailure(Exception):
    def __init__(self, kind: str, message: str, stack: Optional[str] = None) -> None:
        super().__init__(message)
        self.payload: dict[str, str] = {"kind": kind, "message": message}
        if stack:
            self.payload["stack"] = stack


class _Run:
    """One run: the task's files, what its imports missed, and the modules it loaded."""

    def __init__(self, source: Mapping[str, Any], env: Mapping[str, str], unset_env: list[str]) -> None:
        entry, files = source.get("entry"), source.get("files")
        if not isinstance(entry, str) or not isinstance(files, dict) or entry not in files:
            raise GuestFailure("invalid_task", "the task source is malformed: the entry file is missing")
        self.entry = entry
        self.files: dict[str, str] = {path: text for path, text in files.items() if isinstance(text, str)}
        self.noted_modules: set[str] = set()
        self.task_files = capsule_imports.TaskFiles(self.files, posixpath.dirname(entry))
        self.missing = capsule_imports.MissingModules(self.is_task_file, self.note_module)
        self.install(env, unset_env)

    def install(self, env: Mapping[str, str], unset_env: list[str]) -> None:
        sys.meta_path[:] = [
            finder
            for finder in sys.meta_path
            if not isinstance(finder, (capsule_imports.TaskFiles, capsule_imports.MissingModules))
        ]
        sys.meta_path.insert(0, self.task_files)
        sys.meta_path.append(self.missing)
        # There is no standard library source to read at run time (and a look-up would be a host file call that
        # the task never made): tracebacks show source lines for the task's files only, which TaskFiles cached.
        linecache.updatecache = _no_source_lines
        capsule_env.install(env, unset_env, lambda name: host.note_denial("env", name, "not in env_variables"), self.is_task_file)
        capsule_files.install()
        _runtime.install(capsule_net.install())
        _context.install(host.context)
        sys.argv = [self.entry]
        # The snapshot holds the generator state `random` was seeded with at build time: without a new seed,
        # every run would draw the same numbers. (Seeding costs the same fuel whatever the seed.)
        random.seed()
        registry.clear()

    def is_task_file(self, filename: str) -> bool:
        return filename in self.files

    def note_module(self, name: str) -> None:
        if name not in self.noted_modules:
            self.noted_modules.add(name)
            host.note_denial("module", name, "not available in the sandbox")

    def load(self) -> types.ModuleType:
        try:
            return self.task_files.load_entry(self.entry)
        except BaseException as error:
            raise self.failure(error, "loading the task file failed: ") from None

    def load_program(self) -> types.ModuleType:
        """A program (code given as text): its top level is the program itself. Code that defines no ``main`` is a
        script and runs as ``__main__``, as ``python file.py`` would run it, so its ``if __name__ == "__main__":``
        block runs; code with a ``main`` is loaded as a module, so that block does not call main a second time."""
        try:
            tree = ast.parse(self.files[self.entry], filename=self.entry)
            name = None if _defines_main(tree) else "__main__"
            return self.task_files.load_entry(self.entry, name)
        except BaseException as error:
            raise self.failure(error) from None

    def failure(self, error: BaseException, prefix: str = "") -> GuestFailure:
        if isinstance(error, SyntaxError) and error.filename in self.files:
            where = f"{error.filename}, line {error.lineno}" if error.lineno else error.filename
            return GuestFailure(
                "invalid_task",
                f"syntax error in {where}: {error.msg}",
                "".join(traceback.format_exception_only(error)),
            )
        if isinstance(error, ModuleNotFoundError) and error.name in self.missing.names:
            self.note_module(error.name)
            template = _NOT_SENT if self.task_files.owns(error.name) else _UNAVAILABLE
            return GuestFailure("invalid_task", template.format(name=error.name), _format_stack(error))
        return GuestFailure("task_error", prefix + _describe(error), _format_stack(error))

    def describe(self, module: types.ModuleType) -> str:
        tasks = [{"exportName": _export_name(module, t), "options": _json_safe(t.options)} for t in registry]
        return _dumps({"tasks": tasks})

    def run_task(self, module: types.ModuleType, name: Any, args: Any) -> str:
        declared = next((t for t in registry if t.options.get("name") == name), None) or next(
            (t for t in registry if _export_name(module, t) == name), None
        )
        if declared is None:
            names = ", ".join(t.name for t in registry) or "none"
            raise GuestFailure("invalid_task", f'no task named "{name}" (tasks: {names})')
        if inspect.iscoroutinefunction(declared.fn):
            raise GuestFailure(
                "invalid_task",
                f'task "{name}" is an async function: the Capsule Python sandbox runs synchronous tasks only '
                "(asyncio's event loop needs sockets, which the sandbox does not have)",
            )
        try:
            with _runtime.running_task():
                result = declared.fn(*(args if isinstance(args, list) else []))
        except BaseException as error:
            raise self.failure(error) from None
        return _result_json(result)

    def run_program(self, module: types.ModuleType, args: Any, without_main: Any) -> str:
        """Calls the program's ``main`` with the input when it takes one (``main()`` when it takes none, ``main(None)``
        when it needs one and none was given); a program without one ran whole as it loaded."""
        fn = _program_entry(module)
        if fn is None:
            if without_main == "script":
                return _dumps({"result": None, "script": True})
            raise GuestFailure(
                "invalid_task", "the code defines no function named main: write `def main(input):` and return the result"
            )
        if inspect.iscoroutinefunction(fn):
            raise GuestFailure(
                "invalid_task",
                "main is an async function: the Capsule Python sandbox runs synchronous code only "
                "(asyncio's event loop needs sockets, which the sandbox does not have)",
            )
        call_args = _fitting_args(fn, args if isinstance(args, list) else [])
        try:
            with _runtime.running_task():
                result = fn(*call_args)
        except BaseException as error:
            raise self.failure(error) from None
        return _result_json(result)


def _result_json(result: Any) -> str:
    try:
        return _dumps({"result": result}, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as error:
        raise GuestFailure("task_error", f"the task's result is not JSON-serialisable: {error}") from None


def _defines_main(tree: ast.Module) -> bool:
    """Whether the module's top level (including its if/try/with blocks) binds the name ``main``."""
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == "main":
            return True
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "main" for target in targets for t in ast.walk(target)):
                return True
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if any((alias.asname or alias.name.split(".")[0]) == "main" for alias in node.names):
                return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue  # names bound inside a function or class are not the module's
        for field in ("body", "orelse", "finalbody", "handlers"):
            pending.extend(child for child in getattr(node, field, []) if isinstance(child, (ast.stmt, ast.excepthandler)))
    return False


def _program_entry(module: types.ModuleType) -> Any:
    """A task named "main", a task bound to ``main``, or a plain function called ``main``; None when there is none."""
    declared = next((t for t in registry if t.options.get("name") == "main"), None) or next(
        (t for t in registry if _export_name(module, t) == "main"), None
    )
    if declared is not None:
        return declared.fn
    bound = getattr(module, "main", None)
    if isinstance(bound, Task):
        return bound.fn
    return bound if callable(bound) else None


def _fitting_args(fn: Any, args: list[Any]) -> list[Any]:
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return args
    for candidate in (args, [], [None]):
        try:
            signature.bind(*candidate)
            return candidate
        except TypeError:
            continue
    return args


def _no_source_lines(filename: str, module_globals: Any = None) -> list[str]:
    linecache.cache.pop(filename, None)
    return []


def _export_name(module: types.ModuleType, declared: Task[Any, Any]) -> Optional[str]:
    for name, value in vars(module).items():
        if value is declared:
            return name
    return None


def _json_safe(value: Any, depth: int = 0) -> Any:
    """A JSON-safe copy of declared options: paths become strings, tuples and sets lists, anything else null.
    The host validates the result; the guest only makes sure it can be sent."""
    if depth > 32:
        return None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, os.PathLike):
        return os.fsdecode(os.fspath(value))
    if isinstance(value, Mapping):
        return {str(key): _json_safe(item, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_json_safe(item, depth + 1) for item in value]
    return None


def _describe(error: BaseException) -> str:
    """The last line of the traceback Python would print: ``ValueError: boom``."""
    cls = type(error)
    name = cls.__qualname__ if cls.__module__ in ("builtins", "__main__") else f"{cls.__module__}.{cls.__qualname__}"
    try:
        text = str(error)
    except Exception:
        text = "<exception str() failed>"
    return f"{name}: {text}" if text else name


def _format_stack(error: BaseException) -> str:
    try:
        _hide_runner_frames(error, set())
        return "".join(traceback.format_exception(error))
    except Exception as failure:  # an exception too odd to format must not take the runner down with it
        return f"{_describe(error)}\n(the stack could not be formatted: {_describe(failure)})\n"


def _hide_runner_frames(error: BaseException, seen: set[int]) -> None:
    """Leaves out the runner's frames, and the import system's (as CPython does for its own loaders), from the
    exception and the ones it is chained to. ``with_traceback`` rather than assigning ``__traceback__``: an
    exception class may refuse attribute assignment (frozen dataclasses do)."""
    if id(error) in seen:
        return
    seen.add(id(error))
    kept = []
    tb = error.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename not in _RUNNER_FILES and not filename.startswith("<frozen importlib."):
            kept.append(tb)
        tb = tb.tb_next
    if kept:  # a failure in the runner itself keeps its frames
        for frame, following in zip(kept, kept[1:], strict=False):
            frame.tb_next = following
        kept[-1].tb_next = None
        error.with_traceback(kept[0])
    # Only what the traceback will show: a context raised `from None` is not printed.
    linked = [error.__cause__] if error.__cause__ is not None or error.__suppress_context__ else [error.__context__]
    if isinstance(error, BaseExceptionGroup):
        linked.extend(error.exceptions)
    for other in linked:
        if other is not None:
            _hide_runner_frames(other, seen)


def _execute(source_json: str, request_json: str) -> str:
    try:
        source = _loads(source_json)
        request = _loads(request_json)
    except ValueError as error:
        raise GuestFailure("invalid_task", f"the runner received malformed JSON: {error}") from None
    mode = request.get("mode")
    env = request.get("env") if mode == "run" else None
    unset_env = request.get("unsetEnv") if mode == "run" else None
    run = _Run(
        source,
        env if isinstance(env, dict) else {},
        [name for name in unset_env if isinstance(name, str)] if isinstance(unset_env, list) else [],
    )
    program = request.get("program") if mode == "run" and request.get("task") == "main" else None
    if isinstance(program, dict):
        return run.run_program(run.load_program(), request.get("args"), program.get("withoutMain"))
    module = run.load()
    if mode == "describe":
        return run.describe(module)
    if mode == "run":
        return run.run_task(module, request.get("task"), request.get("args"))
    raise GuestFailure("invalid_task", f"unknown request mode {mode!r}")


def _finish() -> None:
    """What CPython does at exit: files left open are written back, and buffered output is flushed."""
    for problem in capsule_files.close_open_files():
        print(f"capsule: a file the task left open could not be written: {problem}", file=sys.stderr)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


class WitWorld(wit_world.WitWorld):
    def run(self, source: str, request: str) -> bytes:
        # Bytes, as the JavaScript runner must (runner.wit says why); _dumps escapes to ASCII, so encoding cannot fail.
        try:
            return _execute(source, request).encode("utf-8")
        except GuestFailure as failure:
            payload = failure.payload
        except BaseException as error:  # a fault of the runner itself, reported rather than trapping the guest
            payload = {"kind": "task_error", "message": _describe(error), "stack": _format_stack(error)}
        finally:
            _finish()
        raise Err(_dumps(payload).encode("utf-8"))
