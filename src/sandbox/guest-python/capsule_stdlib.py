"""The standard library modules Python tasks can import in the sandbox: the one list, imported at build time.

componentize-py snapshots the interpreter after importing the runner (pre-initialisation). The standard library
is only on disk during that build: at run time there are no preopened directories, so a module that is not in
``sys.modules`` by then cannot be imported at all. Each entry below is therefore imported here, at module level;
an entry that fails to import fails the component build, so the list cannot silently promise a module.

Deliberately not listed (they would import, but cannot work in a WebAssembly instance with no OS behind it, or
have nothing to work with):
  asyncio              its event loop needs a socket pair for wake-ups, and the sandbox has no sockets
  concurrent.futures, multiprocessing, subprocess, select, signal
                       no threads, processes or signals (socket itself is listed, below)
  zoneinfo             no time-zone database is available (no tzdata, no /usr/share/zoneinfo); use UTC offsets
  tarfile, argparse, unittest, doctest, venv, ...
                       rarely useful in a task, and each one adds to every instance's memory image
Some modules come along because listed ones import them (tempfile with urllib.request, threading with logging);
they import, but creating a temporary file or starting a thread fails with an ordinary exception.
Not in this CPython build at all (C extensions it does not include): bz2, lzma, ssl, ctypes, readline.

The list also names modules the included ones import lazily, inside functions (``_strptime`` for
``datetime.strptime``, the ``encodings`` codecs that ``str.encode`` looks up by name), since a lazy import at run
time would fail the same way.
"""

from __future__ import annotations

import importlib

# fmt: off  (grouped by purpose, several to a line)
STDLIB_MODULES: tuple[str, ...] = (
    # Text and structured text
    "string",
    "re",
    "textwrap",
    "unicodedata",
    "difflib",
    "pprint",
    "reprlib",
    "shlex",
    "json",
    "csv",
    "tomllib",
    "configparser",
    "html",
    "html.parser",
    "html.entities",
    "xml.etree.ElementTree",
    "xml.dom.minidom",
    # Numbers
    "math",
    "cmath",
    "decimal",
    "fractions",
    "numbers",
    "statistics",
    "random",
    "secrets",
    # Data structures and functional tools
    "collections",
    "collections.abc",
    "heapq",
    "bisect",
    "array",
    "copy",
    "dataclasses",
    "enum",
    "graphlib",
    "types",
    "typing",
    "weakref",
    "abc",
    "functools",
    "itertools",
    "operator",
    "contextlib",
    # Dates and times (datetime.strptime and time.strptime import _strptime on first use)
    "datetime",
    "time",
    "calendar",
    "_strptime",
    # Binary data, hashing, compression, serialisation
    "struct",
    "codecs",
    "base64",
    "binascii",
    "hashlib",
    "hmac",
    "uuid",
    "zlib",
    "gzip",
    "zipfile",
    "pickle",
    # Codecs looked up by name at run time (str.encode("latin-1"), "idna" for URLs, ...)
    # (cp437 is zipfile's for member names; hex and base64 serve codecs.encode(data, "hex"))
    "encodings.ascii",
    "encodings.latin_1",
    "encodings.cp1252",
    "encodings.cp437",
    "encodings.utf_16",
    "encodings.utf_16_le",
    "encodings.utf_16_be",
    "encodings.utf_32",
    "encodings.utf_8_sig",
    "encodings.idna",
    "encodings.punycode",
    "encodings.unicode_escape",
    "encodings.raw_unicode_escape",
    "encodings.hex_codec",
    "encodings.base64_codec",
    # Files: open(), os and pathlib go through the host (capsule_files)
    "io",
    "os",
    "os.path",
    "stat",
    "pathlib",
    "glob",
    "fnmatch",
    "shutil",
    # HTTP: urllib and capsule.http go through the host's wasi:http import (capsule_net)
    "urllib.parse",
    "urllib.request",
    "urllib.error",
    "urllib.response",
    "http",
    "http.client",
    "email.message",
    "email.utils",
    "email.parser",
    "mimetypes",
    "ipaddress",
    # Diagnostics and introspection
    "traceback",
    "logging",
    "warnings",
    "inspect",
    "linecache",
    "ast",
    "dis",
    "keyword",
    "tokenize",
    # In-memory databases (sqlite3.connect(":memory:"); database files would need native file access)
    "sqlite3",
    # Importable so that code which merely imports it loads; every use fails with OSError (the sandbox has no
    # sockets: the host refuses them and records a network denial). HTTP goes through capsule_net instead.
    "socket",
)
# fmt: on

for _name in STDLIB_MODULES:
    importlib.import_module(_name)
