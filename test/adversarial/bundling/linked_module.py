"""Imports helpers.py, which the test makes a symbolic link to a file outside the project."""
from capsule import task

import helpers


@task(name="main")
def main() -> str:
    return helpers.SECRET
