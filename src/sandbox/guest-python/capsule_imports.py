"""Imports in the sandbox: the task's own files, and a clear account of modules that are not there.

The host sends the task file together with the local modules it imports (``{"entry", "files"}``, posix paths
relative to the task file's directory). :class:`TaskFiles` serves them through ``sys.meta_path``; everything else
comes from the modules snapshotted at build time (capsule_stdlib). A module found nowhere reaches
:class:`MissingModules`, last on ``sys.meta_path``, which remembers its name so that the runner can tell an import
that failed for that reason from a ``ModuleNotFoundError`` the task raised itself.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import linecache
import posixpath
import sys
import types
from typing import Callable, Optional, Sequence

# Frames the import system itself runs in: skipped when looking for the code that asked for a module.
_IMPORT_MACHINERY = ("<frozen importlib._bootstrap", importlib.__file__ or "importlib/__init__.py")


class TaskLoader(importlib.abc.Loader):
    def __init__(self, path: str, source: str) -> None:
        self.path = path
        self.source = source

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Optional[types.ModuleType]:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        # dont_inherit: the runner's own `from __future__` imports must not change how task code compiles.
        code = compile(self.source, self.path, "exec", dont_inherit=True)
        module.__file__ = self.path
        exec(code, module.__dict__)

    def get_source(self, fullname: str) -> str:
        return self.source


class TaskFiles(importlib.abc.MetaPathFinder):
    """``import helpers`` / ``from pkg import x`` for the files that came with the task."""

    def __init__(self, files: dict[str, str], root: str) -> None:
        self.files = files
        self.root = root
        # Tracebacks and inspect.getsource read lines through linecache; an entry with no modification time is
        # never checked against a file system, which the sandbox does not have for these files anyway.
        for path, source in files.items():
            linecache.cache[path] = (len(source), None, source.splitlines(keepends=True), path)

    def path_of(self, fullname: str) -> Optional[tuple[str, bool]]:
        base = posixpath.join(self.root, *fullname.split("."))
        # A package directory wins over a module of the same name, as with CPython's path finder.
        for path, is_package in ((f"{base}/__init__.py", True), (f"{base}.py", False)):
            if path in self.files:
                return path, is_package
        return None

    def find_spec(
        self, fullname: str, path: Optional[Sequence[str]] = None, target: Optional[types.ModuleType] = None
    ) -> Optional[importlib.machinery.ModuleSpec]:
        found = self.path_of(fullname)
        if found is None:
            return None
        file, is_package = found
        spec = importlib.util.spec_from_loader(
            fullname, TaskLoader(file, self.files[file]), origin=file, is_package=is_package
        )
        if spec is not None and is_package:
            spec.submodule_search_locations = [posixpath.dirname(file)]
        return spec

    def owns(self, fullname: str) -> bool:
        """Whether the name's top-level package is one of the task's files (its submodule may still be missing)."""
        return self.path_of(fullname.partition(".")[0]) is not None

    def load_entry(self, entry: str, name: Optional[str] = None) -> types.ModuleType:
        """Executes the task file as a module named after its stem (unless ``name`` says otherwise): not
        ``__main__``, so its ``if __name__ == "__main__":`` block does not run, as when the file is imported natively."""
        name = name or posixpath.splitext(posixpath.basename(entry))[0]
        loader = TaskLoader(entry, self.files[entry])
        spec = importlib.util.spec_from_loader(name, loader, origin=entry)
        assert spec is not None
        module = importlib.util.module_from_spec(spec)
        # Registered first, as the import system does, so that a local module can `import task` back. A name a
        # standard module already holds ("json.py") is not taken over: the runner and the standard library keep
        # using the real module.
        if name not in sys.modules:
            sys.modules[name] = module
        loader.exec_module(module)
        return module


class MissingModules(importlib.abc.MetaPathFinder):
    """Last on ``sys.meta_path``: every name that reaches it exists nowhere in the sandbox."""

    def __init__(self, is_task_file: Callable[[str], bool], note: Callable[[str], None]) -> None:
        self.names: set[str] = set()
        self.is_task_file = is_task_file
        self.note = note

    def find_spec(
        self, fullname: str, path: Optional[Sequence[str]] = None, target: Optional[types.ModuleType] = None
    ) -> None:
        self.names.add(fullname)
        # Recorded as a denial when the task's own code asked, even if it then catches the ImportError (an
        # optional dependency): the envelope shows what the task reached for. The standard library probing for
        # optional modules of its own is not the task's doing; if such a failure escapes, the runner notes it.
        if self.is_task_file(_importer_filename()):
            self.note(fullname)
        return None


def _importer_filename() -> str:
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith(_IMPORT_MACHINERY):
        frame = frame.f_back  # type: ignore[assignment]
    return frame.f_code.co_filename if frame is not None else ""
