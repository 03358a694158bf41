"""Files in the sandbox: ``open()``, ``os`` and ``pathlib`` over the host's ``fs-call`` import.

The instance has no preopened directories, so CPython's native file functions find nothing. This module
replaces the ones tasks use (``open``/``io.open``, ``os.stat``/``lstat``/``listdir``/``scandir``/``mkdir``/
``remove``/``unlink``/``rmdir``/``rename``/``replace``/``access``, ``shutil.rmtree``, ``Path.touch``); ``os.path``,
``os.makedirs``, ``os.walk``, ``glob``, ``shutil`` and ``pathlib`` are written on top of those and follow.

Every operation is one host call on a whole file or one directory entry, with the path exactly as the task wrote
it: the host resolves it against the task's ``allowed_files`` and refuses ``..``, absolute paths and links out of
a grant. Whole-file transfers are deliberate: each call names one path the host checks at that moment, and the
guest never holds a descriptor it could keep using after a check (or hand to code the check did not see).
``open()`` therefore reads the file in full when it opens, and writes it back in full on ``flush()``/``close()``
(appends send only the new bytes).
"""

from __future__ import annotations

import base64
import errno
import io
import json
import os
import pathlib
import posixpath
import shutil
import stat as stat_module
import warnings
import weakref
import zlib
from typing import Any, Callable, Optional, Union

from wit_world.imports import host

PathArg = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]

#: The native open(), kept for file descriptors 0-2 (the captured stdio streams; there are no other descriptors).
_native_open = io.open

_ERRNO = {
    "ENOENT": errno.ENOENT,
    "EACCES": errno.EACCES,
    "EPERM": errno.EPERM,
    "EEXIST": errno.EEXIST,
    "ENOTDIR": errno.ENOTDIR,
    "EISDIR": errno.EISDIR,
    "ENOTEMPTY": errno.ENOTEMPTY,
    "EINVAL": errno.EINVAL,
    "ENOSYS": errno.ENOSYS,
    "EBUSY": errno.EBUSY,
    "ELOOP": errno.ELOOP,
    "ENAMETOOLONG": errno.ENAMETOOLONG,
    "EFBIG": errno.EFBIG,
    "EXDEV": errno.EXDEV,
    "ENOSPC": errno.ENOSPC,
    "EMFILE": errno.EMFILE,
}
_REFUSED_PREFIX = "permission denied, '"


def _os_error(error: dict[str, str], filename: str, filename2: Optional[str] = None) -> OSError:
    """``OSError(errno, ...)`` picks the subclass itself: FileNotFoundError, PermissionError, FileExistsError..."""
    code = error.get("code", "EIO")
    number = _ERRNO.get(code, errno.EIO)
    message = error.get("message", "")
    if code == "EACCES" and message.startswith(_REFUSED_PREFIX):
        # A policy refusal: "permission denied, '<path>': <why>". The path is in `filename` already; keep the why.
        # (Lower case as the host writes it: the host recognises an uncaught refusal by "permission denied".)
        reason = message[len(_REFUSED_PREFIX) :].partition("': ")[2]
        strerror = f"permission denied by the Capsule sandbox ({reason})" if reason else message
    elif code in _ERRNO and code not in ("EFBIG", "ENOSPC"):  # the host says which limit (the memory, a quota)
        strerror = os.strerror(number)
    else:
        strerror = message or os.strerror(number)
    if filename2 is None:
        return OSError(number, strerror, filename)
    return OSError(number, strerror, filename, None, filename2)


def _call(op: str, args: dict[str, Any], filename: str, filename2: Optional[str] = None) -> Any:
    reply = json.loads(host.fs_call(op, json.dumps(args).encode("utf-8")))
    if "error" in reply:
        raise _os_error(reply["error"], filename, filename2)
    return reply["ok"]


def _path(path: Union[int, PathArg]) -> str:
    """A path as the task wrote it: str, bytes or os.PathLike. File descriptors do not exist in the sandbox."""
    if isinstance(path, int):
        raise OSError(errno.EBADF, "file descriptors are not available in the Capsule sandbox; pass a path", path)
    value = os.fspath(path)
    return os.fsdecode(value) if isinstance(value, bytes) else value


def read_bytes(path: str) -> bytes:
    return base64.b64decode(_call("readFile", {"path": path, "encoding": "base64"}, path))


def write_bytes(path: str, data: bytes, *, append: bool = False) -> None:
    encoded = base64.b64encode(data).decode("ascii")
    _call("appendFile" if append else "writeFile", {"path": path, "data": encoded, "encoding": "base64"}, path)


# --- stat -------------------------------------------------------------------------------------------------------


def _stat_result(reply: dict[str, Any], path: str) -> os.stat_result:
    def seconds(key: str) -> float:
        return float(reply.get(key) or 0) / 1000

    def nanoseconds(key: str) -> int:
        return int(float(reply.get(key) or 0) * 1_000_000)

    # The host reports no inode: one derived from the normalised path keeps os.path.samefile (and shutil's
    # "same file" check) telling different paths apart. st_dev is constant: everything is one host file system.
    inode = zlib.crc32(posixpath.normpath(path).encode()) or 1
    fields = (
        int(reply["mode"]),
        inode,
        1,
        1,
        0,
        0,
        int(reply["size"]),
        int(seconds("atimeMs")),
        int(seconds("mtimeMs")),
        int(seconds("ctimeMs")),
    )
    extra = {
        "st_atime": seconds("atimeMs"),
        "st_mtime": seconds("mtimeMs"),
        "st_ctime": seconds("ctimeMs"),
        "st_atime_ns": nanoseconds("atimeMs"),
        "st_mtime_ns": nanoseconds("mtimeMs"),
        "st_ctime_ns": nanoseconds("ctimeMs"),
    }
    return os.stat_result(fields, extra)


def stat(path: PathArg, *, dir_fd: Optional[int] = None, follow_symlinks: bool = True) -> os.stat_result:
    _no_dir_fd(dir_fd)
    p = _path(path)
    return _stat_result(_call("stat" if follow_symlinks else "lstat", {"path": p}, p), p)


def lstat(path: PathArg, *, dir_fd: Optional[int] = None) -> os.stat_result:
    return stat(path, dir_fd=dir_fd, follow_symlinks=False)


def access(
    path: PathArg, mode: int, *, dir_fd: Optional[int] = None, effective_ids: bool = False, follow_symlinks: bool = True
) -> bool:
    """Whether the path exists (as far as the grants let the task see it). Whether a write would be allowed is
    only known by trying it: the host decides per call, and a probe would itself be a write."""
    try:
        stat(path, dir_fd=dir_fd, follow_symlinks=follow_symlinks)
    except OSError:
        return False
    return True


def _no_dir_fd(dir_fd: Optional[int]) -> None:
    if dir_fd is not None:
        raise NotImplementedError("dir_fd is not available in the Capsule sandbox")


# --- directories ------------------------------------------------------------------------------------------------


class DirEntry:
    """What ``os.scandir`` yields, from the type the host reports with each name."""

    __slots__ = ("name", "path", "_type", "_stat", "_lstat")

    def __init__(self, name: Any, path: Any, kind: str) -> None:
        self.name = name
        self.path = path
        self._type = kind
        self._stat: Optional[os.stat_result] = None
        self._lstat: Optional[os.stat_result] = None

    def is_symlink(self) -> bool:
        return self._type == "symlink"

    def is_dir(self, *, follow_symlinks: bool = True) -> bool:
        return self._is("directory", stat_module.S_ISDIR, follow_symlinks)

    def is_file(self, *, follow_symlinks: bool = True) -> bool:
        return self._is("file", stat_module.S_ISREG, follow_symlinks)

    def _is(self, kind: str, mode_test: Callable[[int], bool], follow_symlinks: bool) -> bool:
        """The listed type, or for a followed link its target's (a broken or refused link is neither)."""
        if self._type == "symlink" and follow_symlinks:
            try:
                return mode_test(self.stat().st_mode)
            except OSError:
                return False
        return self._type == kind

    def is_junction(self) -> bool:
        return False

    def stat(self, *, follow_symlinks: bool = True) -> os.stat_result:
        if follow_symlinks:
            if self._stat is None:
                self._stat = stat(self.path)
            return self._stat
        if self._lstat is None:
            self._lstat = lstat(self.path)
        return self._lstat

    def inode(self) -> int:
        return self.stat(follow_symlinks=False).st_ino

    def __fspath__(self) -> Any:
        return self.path

    def __repr__(self) -> str:
        return f"<DirEntry {self.name!r}>"


class _ScandirIterator:
    def __init__(self, entries: list[DirEntry]) -> None:
        self._entries = iter(entries)

    def __iter__(self) -> "_ScandirIterator":
        return self

    def __next__(self) -> DirEntry:
        return next(self._entries)

    def __enter__(self) -> "_ScandirIterator":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._entries = iter(())


def _readdir(path: PathArg) -> tuple[Any, list[dict[str, str]]]:
    original = os.fspath(path)
    p = _path(path)
    return original, _call("readdir", {"path": p}, p)


def listdir(path: PathArg = ".") -> list[Any]:
    original, entries = _readdir(path)
    names = [entry["name"] for entry in entries]
    return [os.fsencode(name) for name in names] if isinstance(original, bytes) else names


def scandir(path: PathArg = ".") -> _ScandirIterator:
    original, entries = _readdir(path)
    as_bytes = isinstance(original, bytes)
    result = []
    for entry in entries:
        name: Any = os.fsencode(entry["name"]) if as_bytes else entry["name"]
        result.append(DirEntry(name, os.path.join(original, name), entry["type"]))
    return _ScandirIterator(result)


def mkdir(path: PathArg, mode: int = 0o777, *, dir_fd: Optional[int] = None) -> None:
    _no_dir_fd(dir_fd)
    p = _path(path)
    _call("mkdir", {"path": p, "recursive": False}, p)


def rmdir(path: PathArg, *, dir_fd: Optional[int] = None) -> None:
    _no_dir_fd(dir_fd)
    p = _path(path)
    _call("rmdir", {"path": p}, p)


def unlink(path: PathArg, *, dir_fd: Optional[int] = None) -> None:
    _no_dir_fd(dir_fd)
    p = _path(path)
    _call("unlink", {"path": p}, p)


def rename(src: PathArg, dst: PathArg, *, src_dir_fd: Optional[int] = None, dst_dir_fd: Optional[int] = None) -> None:
    """Also ``os.replace``: the host renames over an existing file, as POSIX rename() does."""
    _no_dir_fd(src_dir_fd)
    _no_dir_fd(dst_dir_fd)
    a, b = _path(src), _path(dst)
    _call("rename", {"from": a, "to": b}, a, b)


def low_level_open(path: PathArg, flags: int, mode: int = 0o777, *, dir_fd: Optional[int] = None) -> int:
    raise OSError(
        errno.ENOTSUP,
        "low-level file descriptors are not available in the Capsule sandbox; use open() or pathlib",
        _path(path),
    )


def rmtree(
    path: PathArg,
    ignore_errors: bool = False,
    onerror: Optional[Callable[..., Any]] = None,
    *,
    onexc: Optional[Callable[..., Any]] = None,
    dir_fd: Optional[int] = None,
) -> None:
    """``shutil.rmtree`` as one host call. The native one works through directory descriptors (on systems that
    have them, as WASI claims to), which the sandbox does not give out."""
    _no_dir_fd(dir_fd)
    p = _path(path)
    try:
        if not stat_module.S_ISDIR(lstat(p).st_mode):
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), p)
        _call("rm", {"path": p, "recursive": True, "force": False}, p)
    except OSError as error:
        if ignore_errors:
            return
        if onexc is not None:
            onexc(rmtree, p, error)
        elif onerror is not None:
            onerror(rmtree, p, (type(error), error, error.__traceback__))
        else:
            raise


def _copy_metadata(*args: Any, **kwargs: Any) -> None:
    """``shutil.copymode``/``copystat``: permissions and timestamps cannot be set through the host, so copies keep
    the host's defaults, as on a file system that does not support them."""


def _touch(self: pathlib.Path, mode: int = 0o666, exist_ok: bool = True) -> None:
    """``Path.touch``: creates an empty file if there is none. The native one uses os.utime and os.open; an
    existing file's times cannot be changed through the host, so touching it leaves it as it is."""
    p = _path(self)
    if _call("exists", {"path": p}, p):
        if not exist_ok:
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), p)
        return
    write_bytes(p, b"")


# --- open() -----------------------------------------------------------------------------------------------------


class HostFileIO(io.RawIOBase):
    """The raw file under ``open()``: the whole content in memory, written back to the host when flushed."""

    def __init__(
        self, path: str, name: Any, mode: str, content: bytes, *, readable: bool, writable: bool, append: bool
    ) -> None:
        super().__init__()
        self._path = path
        self.name = name
        self.mode = mode
        self._data = bytearray(content)
        self._pos = 0
        self._readable = readable
        self._writable = writable
        # Append mode: every write goes to the end, and a flush sends only the bytes after `_sent`, which the
        # host holds already (appendFile). `_sent` is None when a flush sends the whole content (writeFile).
        # "a" (unlike "a+") does not read the file at all: `_data` starts empty and stands for what follows it.
        self._append = append
        self._sent: Optional[int] = len(self._data) if append else None
        self._partial = append and not readable
        self._dirty = False

    def readable(self) -> bool:
        self._check_open()
        return self._readable

    def writable(self) -> bool:
        self._check_open()
        return self._writable

    def seekable(self) -> bool:
        self._check_open()
        return True

    def isatty(self) -> bool:
        self._check_open()
        return False

    def fileno(self) -> int:
        raise io.UnsupportedOperation("fileno: files in the Capsule sandbox have no descriptor")

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed file")

    def _check_readable(self) -> None:
        self._check_open()
        if not self._readable:
            raise io.UnsupportedOperation("File not open for reading")

    def _check_writable(self) -> None:
        self._check_open()
        if not self._writable:
            raise io.UnsupportedOperation("File not open for writing")

    def readinto(self, buffer: Any) -> int:
        self._check_readable()
        view = memoryview(buffer).cast("B")
        chunk = self._data[self._pos : self._pos + len(view)]
        view[: len(chunk)] = chunk
        self._pos += len(chunk)
        return len(chunk)

    def readall(self) -> bytes:
        self._check_readable()
        chunk = bytes(self._data[self._pos :])
        self._pos = len(self._data)
        return chunk

    def write(self, data: Any) -> int:
        self._check_writable()
        chunk = bytes(data)
        if self._append:
            self._pos = len(self._data)
        elif self._pos > len(self._data):
            self._data.extend(bytes(self._pos - len(self._data)))
        self._data[self._pos : self._pos + len(chunk)] = chunk
        self._pos += len(chunk)
        self._dirty = True
        return len(chunk)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._check_open()
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._pos + offset
        elif whence == io.SEEK_END:
            target = len(self._data) + offset
        else:
            raise ValueError(f"invalid whence ({whence}, should be 0, 1 or 2)")
        if target < 0:
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL), self._path)
        self._pos = target
        return target

    def tell(self) -> int:
        self._check_open()
        return self._pos

    def truncate(self, size: Optional[int] = None) -> int:
        self._check_writable()
        if self._partial:
            # A size counts from the start of the file, which an "a" file has not read: send what is pending,
            # then take the whole content, as "a+" would have.
            self.flush()
            self._data = bytearray(read_bytes(self._path))
            self._pos = self._sent = len(self._data)
            self._partial = False
        size = self._pos if size is None else size
        if size < 0:
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL), self._path)
        if self._sent is not None and size < self._sent:
            self._sent = None  # cutting into what the host holds: only a whole-file write can say that
        del self._data[size:]
        self._data.extend(bytes(size - len(self._data)))
        self._dirty = True
        return size

    def flush(self) -> None:
        if self.closed or not self._dirty:
            return
        if self._sent is not None:
            write_bytes(self._path, bytes(self._data[self._sent :]), append=True)
            self._sent = len(self._data)
        else:
            write_bytes(self._path, bytes(self._data))
        self._dirty = False

    def close(self) -> None:
        if self.closed:
            return
        try:
            self.flush()
        finally:
            super().close()


class _BufferedWriter(io.BufferedWriter):
    """The native buffered classes do not pass ``flush()`` on to the raw file; here flushing is what sends the
    content to the host, so they must."""

    def flush(self) -> None:
        super().flush()
        self.raw.flush()


class _BufferedRandom(io.BufferedRandom):
    def flush(self) -> None:
        super().flush()
        self.raw.flush()


#: Files opened for writing and not closed yet: the runner closes them when the task returns, which is when
#: CPython would flush them at exit.
_open_for_writing: "weakref.WeakSet[io.IOBase]" = weakref.WeakSet()


def sandbox_open(
    file: Any,
    mode: str = "r",
    buffering: int = -1,
    encoding: Optional[str] = None,
    errors: Optional[str] = None,
    newline: Optional[str] = None,
    closefd: bool = True,
    opener: Optional[Callable[[str, int], int]] = None,
) -> Any:
    """``open()`` / ``io.open()`` with the same arguments, checks and return types as the native one."""
    if isinstance(file, int):
        return _native_open(file, mode, buffering, encoding, errors, newline, closefd, opener)
    if not isinstance(mode, str):
        raise TypeError(f"open() argument 'mode' must be str, not {type(mode).__name__}")
    modes = set(mode)
    if modes - set("axrwb+t") or len(mode) > len(modes):
        raise ValueError(f"invalid mode: {mode!r}")
    creating, reading, writing, appending = "x" in modes, "r" in modes, "w" in modes, "a" in modes
    updating, text, binary = "+" in modes, "t" in modes, "b" in modes
    if text and binary:
        raise ValueError("can't have text and binary mode at once")
    if creating + reading + writing + appending != 1:
        raise ValueError("must have exactly one of create/read/write/append mode")
    if binary and encoding is not None:
        raise ValueError("binary mode doesn't take an encoding argument")
    if binary and errors is not None:
        raise ValueError("binary mode doesn't take an errors argument")
    if binary and newline is not None:
        raise ValueError("binary mode doesn't take a newline argument")
    if buffering == 0 and not binary:
        raise ValueError("can't have unbuffered text I/O")
    if binary and buffering == 1:
        warnings.warn(
            "line buffering (buffering=1) isn't supported in binary mode, the default buffer size will be used",
            RuntimeWarning,
            2,
        )
    if not closefd:
        raise ValueError("Cannot use closefd=False with file name")
    if opener is not None:
        raise OSError(
            errno.ENOTSUP, "open(opener=...) is not available in the Capsule sandbox: files have no descriptors", file
        )

    path = _path(file)
    # Each mode's side effect happens at open(), as natively, so a refused write fails here and not at close():
    # "w" creates or truncates the file, "x" creates it, "a" creates it if missing (an empty append), "r+" checks
    # with an empty append that the file may be written without changing it.
    content = b""
    if reading:
        content = read_bytes(path)
        if updating:
            write_bytes(path, b"", append=True)
    elif writing:
        write_bytes(path, b"")
    elif creating:
        if _call("exists", {"path": path}, path):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), path)
        write_bytes(path, b"")
    else:
        write_bytes(path, b"", append=True)
        if updating:
            content = read_bytes(path)

    raw_mode = ("x" if creating else "r" if reading else "w" if writing else "a") + "b" + ("+" if updating else "")
    raw = HostFileIO(
        path, file, raw_mode, content, readable=reading or updating, writable=not reading or updating, append=appending
    )
    if appending:
        raw.seek(0, io.SEEK_END)
    if buffering == 0:
        result: Any = raw
    else:
        size = buffering if buffering > 1 else io.DEFAULT_BUFFER_SIZE
        if updating:
            result = _BufferedRandom(raw, size)
        elif reading:
            result = io.BufferedReader(raw, size)
        else:
            result = _BufferedWriter(raw, size)
        if not binary:
            result = io.TextIOWrapper(result, encoding, errors, newline, line_buffering=buffering == 1)
            result.mode = mode
    if raw.writable():
        _open_for_writing.add(result)
    return result


def close_open_files() -> list[str]:
    """Closes (and so writes back) the files the task left open for writing; returns the errors, if any."""
    problems = []
    for handle in list(_open_for_writing):
        try:
            if not handle.closed:
                handle.close()
        except Exception as error:  # reported on stderr by the runner; the task's result stands
            problems.append(f"{getattr(handle, 'name', '?')}: {error}")
    return problems


def install() -> None:
    """Puts the sandbox versions in place of the native functions (which would find no files). Modules that
    look these up at call time (os.path, os.makedirs, os.walk, glob, shutil, pathlib, zipfile, gzip) follow."""
    import builtins

    builtins.open = sandbox_open
    io.open = sandbox_open
    replacements: dict[str, Callable[..., Any]] = {
        "stat": stat,
        "lstat": lstat,
        "access": access,
        "listdir": listdir,
        "scandir": scandir,
        "mkdir": mkdir,
        "rmdir": rmdir,
        "remove": unlink,
        "unlink": unlink,
        "rename": rename,
        "replace": rename,
        "open": low_level_open,
    }
    for name, replacement in replacements.items():
        setattr(os, name, replacement)
    shutil.rmtree = rmtree  # type: ignore[assignment]
    shutil.copymode = _copy_metadata
    shutil.copystat = _copy_metadata
    pathlib.Path.touch = _touch  # type: ignore[method-assign]
