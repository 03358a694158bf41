"""Imports pipe_mod.py, which the test makes a FIFO: reading it would block the bundler forever."""
from capsule import task

import pipe_mod


@task(name="main")
def main() -> int:
    return pipe_mod.VALUE
