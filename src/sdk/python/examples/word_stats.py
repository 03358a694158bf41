"""A sample Capsule task file: runs unmodified in Capsule's sandbox and with plain CPython.

python3 word_stats.py        # natively, with the SDK importable (pip install src/sdk/python)
"""

import collections
import re

from capsule import task


def words_of(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


@task(name="main", compute="LOW", ram="64MB", timeout="10s")
def main(text: str = "the quick brown fox jumps over the lazy dog the end") -> dict[str, object]:
    counts = collections.Counter(words_of(text))
    return {"words": sum(counts.values()), "distinct": len(counts), "top": counts.most_common(3)}


@task
def longest(text: str) -> str:
    return max(words_of(text), key=len, default="")


if __name__ == "__main__":
    print(main())
