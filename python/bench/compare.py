"""Word count through Python against the same query from Rust: medians of interleaved runs.

    python python/bench/compare.py --rust target/release/examples/wordcount_noop \
        --lines 1000000 --workers 1,2 --runs 5

Writes ``--lines`` lines of 10 words (drawn from a Zipf-like distribution over
``--vocabulary`` words, seeded) into a temporary folder, then runs the Rust program and the
Python program on it in turn, each run a separate process (so its peak memory is its own),
the two alternating so that a spell of load falls on both alike. Reports, per worker count, the
median query seconds (``start()`` to the end), the median process wall seconds (start-up
included), the median peak RSS, and the ratios Python / Rust.

With ``--callgrind``, each program instead runs once per worker count under valgrind's
callgrind, and the report is the instructions each executed (every thread, start-up
included): a count that other load on the machine does not move, unlike seconds.
"""

import argparse
import itertools
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def write_input(folder, lines, vocabulary, seed):
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(vocabulary)]
    cumulative = list(itertools.accumulate(1.0 / (i + 1) for i in range(vocabulary)))
    path = os.path.join(folder, "part-0.txt")
    with open(path, "w") as out:
        for _ in range(lines):
            out.write(" ".join(rng.choices(words, cum_weights=cumulative, k=10)) + "\n")
    return os.path.getsize(path)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rust", required=True, help="the built wordcount_noop example")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--vocabulary", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--callgrind", action="store_true",
                        help="count instructions under valgrind instead of timing runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        size = write_input(folder, args.lines, args.vocabulary, args.seed)
        print(f"input: {args.lines} lines, {args.lines * 10} words, {size / 1e6:.0f} MB")
        if args.callgrind:
            count_instructions(args, folder)
            return
        print("| workers | engine | query s (median) | wall s (median) | peak RSS MB (median) | words/s |")
        print("|---|---|---|---|---|---|")
        for workers in [int(w) for w in args.workers.split(",")]:
            commands = commands_for(args, folder, workers)
            results = {engine: [] for engine in commands}
            for _ in range(args.runs):
                for engine, command in commands.items():
                    results[engine].append(run_measured(command))
            medians = {}
            for engine, runs in results.items():
                rows = {r[1] for r in runs}
                assert rows == {args.lines}, f"{engine} read {rows} rows, not {args.lines}"
                query = statistics.median(r[0] for r in runs)
                wall = statistics.median(r[2] for r in runs)
                rss = statistics.median(r[3] for r in runs)
                medians[engine] = (query, wall, rss)
                print(f"| {workers} | {engine} | {query:.3f} | {wall:.3f} | {rss:.0f} | "
                      f"{args.lines * 10 / query:,.0f} |")
            (rq, rw, rr), (pq, pw, pr) = medians["rust"], medians["python"]
            print(f"| {workers} | python / rust | {pq / rq:.3f} | {pw / rw:.3f} | {pr / rr:.3f} | |")


def commands_for(args, folder, workers):
    """The Rust and the Python program's command lines for one worker count."""
    return {
        "rust": [args.rust, folder, str(workers)],
        "python": [args.python, os.path.join(HERE, "wordcount_noop.py"), folder, str(workers)],
    }


def count_instructions(args, folder):
    """Each program once per worker count under callgrind: instructions, and Python / Rust."""
    print("| workers | engine | instructions | python / rust |")
    print("|---|---|---|---|")
    for workers in [int(w) for w in args.workers.split(",")]:
        counts = {}
        for engine, command in commands_for(args, folder, workers).items():
            with tempfile.TemporaryDirectory() as out:
                run = subprocess.run(
                    ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/cg.out"] + command,
                    capture_output=True, text=True,
                )
            if run.returncode != 0:
                raise SystemExit(f"{command} failed under callgrind:\n{run.stderr[-2000:]}")
            rows = json.loads(run.stdout.strip().splitlines()[-1])["rows"]
            assert rows == args.lines, f"{engine} read {rows} rows, not {args.lines}"
            found = re.search(r"Collected : (\d+)", run.stderr)
            if found is None:
                raise SystemExit(f"no instruction count in callgrind's output:\n{run.stderr[-2000:]}")
            counts[engine] = int(found.group(1))
        ratio = counts["python"] / counts["rust"]
        for engine, count in counts.items():
            print(f"| {workers} | {engine} | {count:,} | {ratio:.4f} |" if engine == "python"
                  else f"| {workers} | {engine} | {count:,} | |")


def run_measured(command):
    """One run in its own process: (query s, rows, wall s, peak RSS MB) from os.wait4."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{command} failed with status {status}")
    result = json.loads(out.strip().splitlines()[-1])
    return result["seconds"], result["rows"], wall, usage.ru_maxrss / 1024


if __name__ == "__main__":
    main()
