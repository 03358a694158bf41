"""Attacks from inside a Python guest (test/adversarial/suite.test.ts runs them), one class of escape per task."""

import json
import os
import sys

from capsule import task

RW_DATA = [{"path": "./data", "mode": "read-write"}]


def _code(error: BaseException) -> str:
    number = getattr(error, "errno", None)
    return type(error).__name__ if number is None else f"{type(error).__name__}"


@task(name="race", compute="HIGH", timeout="90s", allowed_files=RW_DATA)
def race(iterations: int) -> dict:
    """Reads and writes through names a racer on the host keeps swapping between files and links out."""
    seen: dict = {"inside": 0, "leaked": 0, "writes": 0}

    def count(key: str) -> None:
        seen[key] = seen.get(key, 0) + 1

    for i in range(iterations):
        for target in ("./data/race/file", "./data/race/dir/secret.txt"):
            try:
                with open(target, encoding="utf-8") as f:
                    count("leaked" if "HOST SECRET" in f.read() else "inside")
            except OSError as error:
                count(f"read {_code(error)}")
        try:
            with open("./data/race/wfile", "w", encoding="utf-8") as f:
                f.write(f"guest write {i}")
            count("writes")
        except OSError as error:
            count(f"write {_code(error)}")
    return seen


@task(name="special", allowed_files=RW_DATA, timeout="20s")
def special(names: list) -> dict:
    """Special files in a granted directory: every call must come back at once, refused."""
    outcome = {}
    for name in names:
        for label, action in (
            ("read", lambda: open(f"./data/{name}", "rb").read()),
            ("write", lambda: open(f"./data/{name}", "wb").write(b"x")),
        ):
            try:
                action()
                outcome[f"{label} {name}"] = "ok"
            except OSError as error:
                outcome[f"{label} {name}"] = f"{_code(error)}: {error}"
    outcome["listdir"] = ",".join(sorted(os.listdir("./data")))
    return outcome


@task(name="malformed")
def malformed(mode: str) -> object:
    """Breaks the runner's serialisation: the encoder every json.dumps call ends in returns garbage."""
    if mode == "garbage-reply":
        json.JSONEncoder.encode = lambda self, o: "not json {{{"
        return {"fine": True}
    if mode == "null-failure":
        json.JSONEncoder.encode = lambda self, o: "null"
        raise ValueError("the runner reports this as null")
    if mode == "replaced-dumps":
        json.dumps = lambda *a, **k: "not json"
        return {"fine": True}
    if mode == "deep-result":
        sys.setrecursionlimit(20_000)
        deep: list = []
        for _ in range(5000):
            deep = [deep]
        return deep
    return {"mode": mode}


@task(name="values")
def values(mode: str) -> object:
    """Results JSON has no spelling for, and odd things raised."""
    if mode == "function":
        return lambda: 1
    if mode == "nan":
        return float("nan")
    if mode == "bytes":
        return b"\x00\x01"
    if mode == "cyclic":
        cyclic: list = []
        cyclic.append(cyclic)
        return cyclic
    if mode == "raise-hostile":

        class Hostile(Exception):
            def __str__(self) -> str:
                raise RuntimeError("no")

        raise Hostile()
    if mode == "exit":
        os._exit(3)
    return mode


@task(name="noisy")
def noisy(megabytes: int) -> None:
    chunk = "x" * (1024 * 1024)
    for _ in range(megabytes):
        print(chunk)
        print(chunk, file=sys.stderr)
    raise ValueError("y" * (megabytes * 1024 * 1024))


@task(name="bulk", compute="LOW", ram="160MB", timeout="60s")
def bulk(mode: str) -> None:
    """Bulk memory work in a loop: each pass is one memset / memcpy in the interpreter."""
    buffer = bytearray(32 * 1024 * 1024)
    i = 0
    while True:
        if mode == "fill":
            buffer[:] = bytes([i & 0xFF]) * len(buffer)
        else:
            buffer[1:] = buffer[:-1]
        i += 1


@task(name="host_calls", compute="LOW", timeout="60s", allowed_files=["./data"])
def host_calls() -> None:
    """Host calls in a loop: each costs the host real work, so each costs fuel."""
    while True:
        os.path.exists("./data/input.txt")


@task(
    name="greedy",
    compute="HIGH",
    ram="1GB",
    timeout="5m",
    allowed_files=[{"path": "./data", "mode": "read-write"}, {"path": "./out", "mode": "read-write"}],
    allowed_hosts=["*.example.com"],
    env_variables=["HOME", "PATH"],
)
def greedy() -> dict:
    try:
        with open("./data/greedy.txt", "w") as f:
            f.write("x")
        wrote = "yes"
    except OSError as error:
        wrote = _code(error)
    return {"wrote": wrote, "path": os.environ.get("PATH")}


@task(name="frugal", compute="LOW", ram="64MB", timeout="20s", allowed_files=["./data"], env_variables=["HOME"])
def frugal() -> object:
    return greedy()


@task(name="sleeper", compute="HIGH", timeout="5m")
def sleeper() -> None:
    while True:
        pass


@task(name="abandon", compute="HIGH", timeout="3s")
def abandon() -> None:
    """Calls a child that never ends, then gets stopped by its own timeout: the child must go with it."""
    sleeper()


@task(name="terminal")
def terminal() -> None:
    nasty = "\x1b]52;c;Y2xpcGJvYXJk\x07\x1b[2K\x1b[1A\u009b31m\u202eevil"
    print(nasty)
    print(nasty, file=sys.stderr)
    raise RuntimeError(nasty)


@task(name="hello")
def hello(name: str) -> str:
    return f"hello {name}"
