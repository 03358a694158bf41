"""Python counterparts of sandbox-bench.ts. `cpu` also runs natively (bench/python-native.py) for the baseline."""
import time

from capsule import task


@task(name="trivial")
def trivial() -> int:
    return 1


@task(name="cpu", compute="HIGH")
def cpu(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, (a + b) % 1_000_007
    return b


@task(name="hold")
def hold(ms: int) -> int:
    time.sleep(ms / 1000)
    return ms
