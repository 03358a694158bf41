"""The Python twin of main.ts: the same task, the same limits, the same envelope."""
from pathlib import Path

from capsule import task


@task(name="shout", compute="LOW", ram="32MB")
def shout(text: str) -> str:
    """A sub-task: runs in its own fresh sandbox with its own (smaller) limits."""
    return text.upper()


@task(name="main", compute="LOW", ram="64MB", timeout="10s", allowed_files=["./data"])
def main(input: dict | None = None) -> dict:
    greeting = Path("./data/greeting.txt").read_text(encoding="utf-8").strip()
    print(f"read {len(greeting)} characters from ./data/greeting.txt")
    loud = shout(f"{greeting}, {(input or {}).get('name', 'world')}")
    return {"message": loud["result"], "subTaskFuel": loud["execution"]["fuel_consumed"]}
