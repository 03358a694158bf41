"""A relative import above the task's directory."""
from capsule import task

from .. import outside_module


@task(name="main")
def main() -> str:
    return outside_module.SECRET
