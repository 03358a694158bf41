"""Python counterparts of fuel-loops.ts: the fuel one iteration of each loop shape costs."""
from capsule import task


@task(name="sum", compute="HIGH")
def sum_to(n: int) -> int:
    s = 0
    for i in range(n):
        s += i
    return s


@task(name="strings", compute="HIGH")
def strings(n: int) -> int:
    s = ""
    for _ in range(n):
        s += "x"
    return len(s)


@task(name="push", compute="HIGH")
def push(n: int) -> int:
    items = []
    for i in range(n):
        items.append(i)
    return len(items)


class Point:
    def __init__(self) -> None:
        self.x = 0
        self.y = 0


@task(name="properties", compute="HIGH")
def properties(n: int) -> int:
    point = Point()
    for _ in range(n):
        point.x += 1
        point.y = point.x
    return point.y


def add(a: int, b: int) -> int:
    return a + b


@task(name="calls", compute="HIGH")
def calls(n: int) -> int:
    s = 0
    for i in range(n):
        s = add(s, i)
    return s
