"""Orders each angle's passages by how many words they share with its question: a Python step in a pipeline
whose other steps are TypeScript, with the same sandbox, limits and envelope."""
import re
from collections import Counter

from capsule import task

WORD = re.compile(r"[a-z]+")


def words(text: str) -> Counter:
    return Counter(w for w in WORD.findall(text.lower()) if len(w) > 3)


@task(name="main", compute="LOW", ram="64MB", timeout="10s")
def main(input: dict) -> list:
    ranked = []
    for finding in input["findings"]:
        question = words(finding["question"])
        passages = sorted(finding["passages"], key=lambda p: -sum((words(p["text"]) & question).values()))
        ranked.append({**finding, "passages": passages})
    print(f"ranked {sum(len(f['passages']) for f in ranked)} passage(s) across {len(ranked)} angle(s)")
    return ranked
