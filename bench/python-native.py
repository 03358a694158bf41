"""Native CPython baseline for bench/python.ts: imports a Capsule task file with the SDK on the path (outside the
sandbox, calling a task function just calls it) and prints the wall time of each call as JSON."""
import importlib.util
import json
import sys
import time
from pathlib import Path

task_file, function, arg, rounds = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4])
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src" / "sdk" / "python"))
spec = importlib.util.spec_from_file_location("bench_task", task_file)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
fn = getattr(module, function)
times, result = [], None
for _ in range(rounds):
    started = time.perf_counter()
    result = fn(arg)
    times.append((time.perf_counter() - started) * 1000)
print(json.dumps({"result": result, "ms": times, "python": sys.version.split()[0]}))
