#!/usr/bin/env python3
"""`dropfeed diff` beside Python's csv-diff: wall time, peak memory and agreement, on generated exports.

    bench_diff.py --dropfeed BIN --csv-diff CMD [--sizes 100000:5,1000000:3] [--seed S]
                  [--data DIR] [--results DIR]
    bench_diff.py agree DROPFEED.json CSVDIFF.json [EXPECTED.json]

For each size it generates (or reuses) an old/new pair with gen_exports.py, then runs
`dropfeed diff OLD NEW --key employee_id --json` and `csv-diff OLD NEW --key employee_id --json
--format csv` alternately, each run a fresh child process whose wall time is measured around it and
whose peak RSS comes from os.wait4 (the kernel's ru_maxrss of that one child). It prints a table
(median seconds, peak RSS, speed-up = csv-diff time / dropfeed time, memory ratio = dropfeed RSS /
csv-diff RSS) and saves it to RESULTS/diff.txt. Then it checks agreement: both JSON outputs are
compared as sets (added rows, removed rows, changed keys with their change dicts, columns added and
removed) and their counts against the generator's; any disagreement is FAIL and exit status 1.

`agree` runs only the comparison, on outputs you already have.
"""

import argparse
import hashlib
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
GENERATOR = os.path.join(HERE, "gen_exports.py")
KEY = "employee_id"
# The project's targets, which apply at 1,000,000 rows.
TARGET_SPEEDUP = 10.0
TARGET_MEMORY = 0.2


# ---------------------------------------------------------------------------------------------
# Data


def generator_digest():
    with open(GENERATOR, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]


def ensure_data(data_dir, rows, seed):
    """Paths of the old and new exports for `rows` and `seed`, and the expected counts.

    Cached in `data_dir` by size and seed; regenerated when the generator itself changed."""
    base = os.path.join(data_dir, f"hr_{rows}_s{seed}")
    old, new, meta = base + "_old.csv", base + "_new.csv", base + "_expected.json"
    digest = generator_digest()
    if os.path.exists(old) and os.path.exists(new) and os.path.exists(meta):
        with open(meta) as f:
            expected = json.load(f)
        if expected.get("generator") == digest:
            return old, new, expected
    print(f"generating {rows:,} rows (seed {seed}) into {os.path.relpath(data_dir)}/ ...", flush=True)
    started = time.perf_counter()
    out = subprocess.run([sys.executable, GENERATOR, "--rows", str(rows), "--seed", str(seed),
                          "--out-old", old, "--out-new", new], check=True, stdout=subprocess.PIPE, text=True)
    expected = json.loads(out.stdout)
    expected["generator"] = digest
    with open(meta, "w") as f:
        json.dump(expected, f)
    print(f"  done in {time.perf_counter() - started:.1f} s", flush=True)
    return old, new, expected


def warm(path):
    """Reads a file once so that every timed run finds it in the page cache."""
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


# ---------------------------------------------------------------------------------------------
# Measuring


def measure(argv, stdout_path, env=None):
    """Runs argv once; returns (wall seconds, CPU seconds, peak RSS in bytes, exit status).

    Output goes to a file. CPU is user + system time of that child alone (from os.wait4)."""
    with open(stdout_path, "wb") as out, open(stdout_path + ".stderr", "wb") as err:
        started = time.perf_counter()
        child = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss is in kilobytes on Linux, in bytes on macOS.
    rss = usage.ru_maxrss if sys.platform == "darwin" else usage.ru_maxrss * 1024
    return seconds, usage.ru_utime + usage.ru_stime, rss, child.returncode


# ---------------------------------------------------------------------------------------------
# Agreement


def _row(row):
    return tuple(sorted(row.items()))


def _key(key):
    return tuple(key) if isinstance(key, list) else key


def normalise(result):
    """A csv-diff style result as order-free sets and dicts."""
    return {
        "added": {_row(r) for r in result["added"]},
        "removed": {_row(r) for r in result["removed"]},
        "changed": {_key(c["key"]): {k: tuple(v) for k, v in c["changes"].items()} for c in result["changed"]},
        "columns_added": set(result["columns_added"]),
        "columns_removed": set(result["columns_removed"]),
    }


def disagreements(dropfeed, csv_diff, expected=None, limit=3):
    """Human-readable differences between two csv-diff style results (empty when they agree)."""
    problems = []
    a, b = normalise(dropfeed), normalise(csv_diff)
    for field in ("added", "removed", "columns_added", "columns_removed"):
        only_a, only_b = a[field] - b[field], b[field] - a[field]
        if only_a or only_b:
            problems.append(f"{field}: {len(only_a)} only in dropfeed, {len(only_b)} only in csv-diff;"
                            f" e.g. {sorted(map(str, only_a))[:limit]} / {sorted(map(str, only_b))[:limit]}")
    ca, cb = a["changed"], b["changed"]
    if ca != cb:
        only_a = sorted(map(str, ca.keys() - cb.keys()))
        only_b = sorted(map(str, cb.keys() - ca.keys()))
        differ = sorted((k for k in ca.keys() & cb.keys() if ca[k] != cb[k]), key=str)
        problems.append(f"changed: {len(only_a)} keys only in dropfeed {only_a[:limit]}, {len(only_b)} only in"
                        f" csv-diff {only_b[:limit]}, {len(differ)} with other changes"
                        + "".join(f"\n    {k}: dropfeed {ca[k]} csv-diff {cb[k]}" for k in differ[:limit]))
    for name, result, sets in (("dropfeed", dropfeed, a), ("csv-diff", csv_diff, b)):
        for field in ("added", "removed", "changed"):
            if len(result[field]) != len(sets[field]):
                problems.append(f"{name} lists the same {field} row twice")
    if expected:
        for name, result in (("dropfeed", dropfeed), ("csv-diff", csv_diff)):
            got = {"added": len(result["added"]), "removed": len(result["removed"]),
                   "updated": len(result["changed"])}
            want = {k: expected[k] for k in got}
            if got != want:
                problems.append(f"{name} counts {got} differ from the generator's {want}")
    return problems


def agree_command(argv):
    p = argparse.ArgumentParser(prog="bench_diff.py agree")
    p.add_argument("dropfeed_json")
    p.add_argument("csv_diff_json")
    p.add_argument("expected_json", nargs="?")
    a = p.parse_args(argv)
    loads = [json.load(open(path, encoding="utf-8")) for path in (a.dropfeed_json, a.csv_diff_json)]
    expected = json.load(open(a.expected_json)) if a.expected_json else None
    problems = disagreements(*loads, expected=expected)
    for line in problems:
        print("  " + line)
    print("agreement: " + ("FAIL" if problems else "PASS"))
    return 1 if problems else 0


# ---------------------------------------------------------------------------------------------
# The benchmark


def tool_version(argv):
    try:
        out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
        return out.stdout.strip().splitlines()[0] if out.stdout.strip() else "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def parse_sizes(text):
    sizes = []
    for item in text.split(","):
        rows, _, runs = item.partition(":")
        sizes.append((int(rows), int(runs or 3)))
    return sizes


def main(argv):
    if argv and argv[0] == "agree":
        return agree_command(argv[1:])
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dropfeed", required=True, help="the dropfeed binary")
    p.add_argument("--csv-diff", required=True, help="the csv-diff command (split like a shell would)")
    p.add_argument("--sizes", default=os.environ.get("BENCH_DIFF_SIZES", "100000:5,1000000:3"),
                   help="ROWS:RUNS,... (default 100000:5,1000000:3; env BENCH_DIFF_SIZES)")
    p.add_argument("--seed", type=int, default=20261129)
    p.add_argument("--data", default=os.path.join(HERE, "data"))
    p.add_argument("--results", default=os.path.join(HERE, "results"))
    a = p.parse_args(argv)
    os.makedirs(a.data, exist_ok=True)
    os.makedirs(a.results, exist_ok=True)
    out_dir = os.path.join(a.data, "out")
    os.makedirs(out_dir, exist_ok=True)
    csv_diff = shlex.split(a.csv_diff)
    # csv-diff opens files in the locale's encoding: make it UTF-8 whatever the locale is.
    csv_diff_env = dict(os.environ, PYTHONUTF8="1")

    header = [
        "dropfeed diff vs csv-diff — wall time (median of the runs) and peak RSS (largest of the runs),",
        "the two tools alternating on the same files; cpu s = median user + system time;",
        "speed-up = csv-diff s / dropfeed s (wall),",
        "memory = dropfeed RSS / csv-diff RSS. Targets at 1,000,000 rows: "
        f"speed-up >= {TARGET_SPEEDUP:.0f}x, memory <= {TARGET_MEMORY:.2f}.",
        f"dropfeed: {tool_version([a.dropfeed, '--version'])}; csv-diff: "
        f"{tool_version(csv_diff + ['--version'])}; Python {platform.python_version()}; "
        f"{os.cpu_count()} CPUs; {platform.machine()} {platform.system()} {platform.release()}",
        "",
        f"{'rows':>9}  {'file MB':>7}  {'tool':<9}  {'runs':>4}  {'median s':>9}  {'cpu s':>6}  {'peak RSS MB':>11}  "
        f"{'speed-up':>8}  {'memory':>7}  targets",
    ]
    table = list(header)
    failures = []
    for rows, runs in parse_sizes(a.sizes):
        old, new, expected = ensure_data(a.data, rows, a.seed)
        warm(old)
        warm(new)
        file_mb = (os.path.getsize(old) + os.path.getsize(new)) / 1e6
        commands = {
            "dropfeed": ([a.dropfeed, "diff", old, new, "--key", KEY, "--json"], None),
            # --format csv: the excel dialect, as dropfeed reads; csv-diff's Sniffer is not given the
            # chance to misread a file full of quoted commas (it would only cost csv-diff 1 MB of sniffing).
            "csv-diff": (csv_diff + [old, new, "--key", KEY, "--json", "--format", "csv"], csv_diff_env),
        }
        samples = {name: [] for name in commands}
        outputs = {name: os.path.join(out_dir, f"{rows}_{name}.json") for name in commands}
        digests = {name: set() for name in commands}
        loads = []
        for run in range(runs):
            for name, (argv, env) in commands.items():
                seconds, cpu, rss, status = measure(argv, outputs[name], env)
                if status != 0:
                    with open(outputs[name] + ".stderr", errors="replace") as f:
                        err = f.read().strip()[-2000:]
                    print(f"{name} exited {status} on {rows:,} rows:\n{err}", file=sys.stderr)
                    return 2
                samples[name].append((seconds, rss, cpu))
                loads.append(os.getloadavg()[0])
                with open(outputs[name], "rb") as f:
                    digests[name].add(hashlib.sha256(f.read()).hexdigest())
                print(f"  {rows:,} rows, run {run + 1}/{runs}: {name:<8} {seconds:7.2f} s  ({cpu:6.2f} s CPU)  "
                      f"{rss / 2**20:8.1f} MB  (load {loads[-1]:.1f})", flush=True)
        med = {n: statistics.median(s for s, _, _ in samples[n]) for n in samples}
        cpu = {n: statistics.median(c for _, _, c in samples[n]) for n in samples}
        peak = {n: max(r for _, r, _ in samples[n]) for n in samples}
        speedup = med["csv-diff"] / med["dropfeed"]
        memory = peak["dropfeed"] / peak["csv-diff"]
        judged = rows >= 1_000_000
        verdict = ("met" if speedup >= TARGET_SPEEDUP and memory <= TARGET_MEMORY else "MISSED") if judged else "(1M only)"
        lines = [
            f"{rows:>9,}  {file_mb:>7.0f}  {'dropfeed':<9}  {runs:>4}  {med['dropfeed']:>9.3f}  {cpu['dropfeed']:>6.2f}  "
            f"{peak['dropfeed'] / 2**20:>11.1f}  {speedup:>7.1f}x  {memory:>7.3f}  {verdict}",
            f"{'':>9}  {'':>7}  {'csv-diff':<9}  {runs:>4}  {med['csv-diff']:>9.3f}  {cpu['csv-diff']:>6.2f}  "
            f"{peak['csv-diff'] / 2**20:>11.1f}",
        ]
        # Agreement, on the last run's outputs.
        with open(outputs["dropfeed"], encoding="utf-8") as f:
            ours = json.load(f)
        with open(outputs["csv-diff"], encoding="utf-8") as f:
            theirs = json.load(f)
        problems = disagreements(ours, theirs, expected)
        if len(digests["dropfeed"]) != 1:
            problems.append("dropfeed printed different bytes on different runs")
        counts = (f"{len(ours['added']):,} added, {len(ours['removed']):,} removed, "
                  f"{len(ours['changed']):,} changed")
        lines.append(f"{'':>9}  agreement: {'FAIL' if problems else 'PASS'} ({counts}; generator: "
                     f"{expected['added']:,} / {expected['removed']:,} / {expected['updated']:,})")
        lines += ["    " + line for line in problems]
        lines.append(f"{'':>9}  1-minute load average after each run: {min(loads):.1f} to {max(loads):.1f} "
                     f"(the tools account for 1 to 2 of it; more means other work shared the CPUs)")
        if problems:
            failures.append(rows)
        table += lines
    table.append("")
    table.append("agreement: " + (f"FAIL at {', '.join(f'{r:,}' for r in failures)} rows" if failures else "PASS"))
    print("\n" + "\n".join(table))
    path = os.path.join(a.results, "diff.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(table) + "\n")
    print(f"saved {os.path.relpath(path)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
