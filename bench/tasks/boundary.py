"""Python counterparts of boundary.ts: each task moves ``n`` bytes one way; ``serialise`` is the baseline."""
import json

from capsule import task

OPTIONS = {"compute": "HIGH", "ram": "256MB", "allowed_files": [{"path": "./data", "mode": "read-write"}]}


@task(name="serialise", **OPTIONS)
def serialise(n: int) -> int:
    return len(json.dumps({"result": "x" * n}))


@task(name="returnText", **OPTIONS)
def return_text(n: int) -> str:
    return "x" * n


@task(name="writeText", **OPTIONS)
def write_text(n: int) -> int:
    with open("./data/text.txt", "w") as f:
        f.write("x" * n)
    return n


@task(name="writeBytes", **OPTIONS)
def write_bytes(n: int) -> int:
    with open("./data/bytes.bin", "wb") as f:
        f.write(bytes([7]) * n)
    return n


@task(name="readText", **OPTIONS)
def read_text(n: int) -> int:
    with open("./data/text.txt") as f:
        return len(f.read())


@task(name="readBytes", **OPTIONS)
def read_bytes(n: int) -> int:
    with open("./data/bytes.bin", "rb") as f:
        return len(f.read())
