"""``os.environ`` in the sandbox: exactly the variables the task lists in ``env_variables``.

The host sends their values with each run request; nothing else of the host's environment ever reaches the
guest. Reading a variable that is not there behaves as natively (KeyError, or None from ``os.getenv``) and, when
the task's own code asked, is recorded once per name as a denial, so the envelope shows what the task looked for.
The standard library's own look-ups (zipfile reading SOURCE_DATE_EPOCH, traceback reading NO_COLOR) are not the
task's doing and are not recorded. A membership test (``"X" in os.environ``) or iterating is not a read of an
absent variable and is not recorded either.
"""

from __future__ import annotations

import _collections_abc
import os
import sys
from typing import Any, Callable, Iterable, Mapping

# Frames between the task's code and SandboxEnviron.__getitem__: os.getenv, Mapping.get, this module.
_ACCESSOR_FILES = frozenset(
    filename for filename in (__file__, os.__file__, getattr(_collections_abc, "__file__", None)) if filename
)


def _reader_filename() -> str:
    frame = sys._getframe(1)
    while frame is not None and (
        frame.f_code.co_filename in _ACCESSOR_FILES or frame.f_code.co_filename.startswith("<frozen ")
    ):
        frame = frame.f_back  # type: ignore[assignment]
    return frame.f_code.co_filename if frame is not None else ""


def _encode(value: str) -> bytes:
    if not isinstance(value, str):
        raise TypeError(f"str expected, not {type(value).__name__}")
    return os.fsencode(value)


def _check_bytes(value: bytes) -> bytes:
    if not isinstance(value, bytes):
        raise TypeError(f"bytes expected, not {type(value).__name__}")
    return value


class SandboxEnviron(os._Environ):  # type: ignore[type-arg]
    """``os._Environ`` is what ``os.environ`` is natively: ``os.getenv``, ``copy()``, ``|`` and ``repr`` work
    unchanged. Both views (``environ`` and ``environb``) share one dict of encoded names and values."""

    def __init__(
        self,
        data: dict[bytes, bytes],
        encodekey: Callable[[Any], bytes],
        decodekey: Callable[[bytes], Any],
        encodevalue: Callable[[Any], bytes],
        decodevalue: Callable[[bytes], Any],
        on_missing: Callable[[str], None],
    ) -> None:
        super().__init__(data, encodekey, decodekey, encodevalue, decodevalue)
        self._values = data  # the dict _Environ keeps as `_data` (not part of its typed interface)
        self._on_missing = on_missing

    def __getitem__(self, key: Any) -> Any:
        try:
            value = self._values[self.encodekey(key)]
        except KeyError:
            self._on_missing(os.fsdecode(key) if isinstance(key, (str, bytes)) else str(key))
            raise KeyError(key) from None
        return self.decodevalue(value)

    def __contains__(self, key: object) -> bool:
        try:
            return self.encodekey(key) in self._values
        except TypeError:
            return False

    def __setitem__(self, key: Any, value: Any) -> None:
        # The C-level environment (os.putenv) is left alone: no subprocess will ever read it.
        self._values[self.encodekey(key)] = self.encodevalue(value)

    def __delitem__(self, key: Any) -> None:
        encoded = self.encodekey(key)
        if encoded not in self._values:
            raise KeyError(key)
        del self._values[encoded]


def install(
    variables: Mapping[str, str],
    unset: Iterable[str],
    on_missing: Callable[[str], None],
    is_task_file: Callable[[str], bool],
) -> None:
    """Replaces ``os.environ`` (and ``os.environb``) with the listed variables only. Names in ``unset`` are listed
    in env_variables but not set on the host: absent here too, but reading them is no denial."""
    noted: set[str] = set(unset)

    def note(name: str) -> None:
        if name and name not in noted and is_task_file(_reader_filename()):
            noted.add(name)
            on_missing(name)

    data = {_encode(name): _encode(value) for name, value in variables.items()}
    # Replaced, not cleared: the old mapping's values never existed in the sandbox's C environment anyway.
    os.environ = SandboxEnviron(data, _encode, os.fsdecode, _encode, os.fsdecode, note)  # noqa: B003
    if hasattr(os, "environb"):
        os.environb = SandboxEnviron(data, _check_bytes, bytes, _check_bytes, bytes, note)
