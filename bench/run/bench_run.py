#!/usr/bin/env python3
"""A whole `dropfeed run` (three targets) beside one Python csv-diff of the same two exports.

    bench_run.py --dropfeed BIN --csv-diff CMD [--rows 1000000] [--runs 3] [--seed S]
                 [--data DIR] [--results DIR]

Uses bench/run/dropfeed.json (three targets delivering into DATA/run-out/, state in DATA/run-state/,
source DATA/run-source.csv, a symlink this script points at the export to read). With an empty state
directory, run #1 reads the old export: everything is sent as adds (or in full). Its state directory is
kept aside (`cp -a`). Then, RUNS times, the state is restored to what run #1 left and the delivery
folders emptied, and run #2 reads the new export (the measured run: it diffs against run #1's
snapshots), alternating with `csv-diff OLD NEW --key employee_id --json --format csv`. Each run is a
fresh child process: wall time around it, CPU (user + system) and peak RSS from os.wait4, as in
bench_diff.py, whose runner this reuses. The table goes to stdout and RESULTS/run.txt.

Sanity checks (any failure is FAIL and exit status 1): every run exits 0 with every target delivered;
per target, run #1's rows = run #2's unchanged + updates + deletes and run #2's rows = unchanged +
updates + adds; the files of run #2 have the same bytes on every repetition; csv-diff's counts equal the
generator's. The per-target adds/updates/deletes are printed beside the generator's source-level counts:
they differ by each mapping's `where`, rejections and key (a move between badge sites is a new key).
"""

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
sys.path.insert(0, BENCH)
from bench_diff import ensure_data, measure, tool_version, warm  # noqa: E402  (the diff section's runner)

KEY = "employee_id"
CONFIG = os.path.join(HERE, "dropfeed.json")


def run_dirs(data):
    return {
        "source": os.path.join(data, "run-source.csv"),
        "state": os.path.join(data, "run-state"),
        "saved": os.path.join(data, "run-state.after-run1"),
        "out": os.path.join(data, "run-out"),
    }


def point_source(link, target):
    """Points the config's source symlink at `target` (relative, in the same folder)."""
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(os.path.basename(target), link)


def remove(path):
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)


def copy_tree(src, dst):
    remove(dst)
    subprocess.run(["cp", "-a", src, dst], check=True)


def dropfeed_run(binary, out_path):
    """One `dropfeed run`; returns (seconds, cpu, rss, status, report or None)."""
    seconds, cpu, rss, status = measure([binary, "run", "--config", CONFIG, "--json"], out_path)
    try:
        with open(out_path, encoding="utf-8") as f:
            report = json.load(f)
    except (OSError, ValueError):
        report = None
    return seconds, cpu, rss, status, report


def report_problems(label, status, report, out_path):
    """Why a run does not count (empty when it exited 0 and delivered every target)."""
    if report is None or status != 0:
        with open(out_path + ".stderr", errors="replace") as f:
            err = f.read().strip()[-1500:]
        return [f"{label} exited {status}: {err}"]
    bad = [f"{t['name']} {t['status']}: {t.get('error') or t.get('gate')}" for t in report["targets"]
           if t["status"] != "delivered"]
    return [f"{label}: " + "; ".join(bad)] if bad else []


def file_digests(report):
    """Per target, the sorted sha256 of the files it delivered (names carry {seq} and {time})."""
    return {t["name"]: sorted(f["sha256"] for f in t.get("files", [])) for t in report["targets"]}


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dropfeed", required=True, help="the dropfeed binary")
    p.add_argument("--csv-diff", required=True, help="the csv-diff command (split like a shell would)")
    p.add_argument("--rows", type=int, default=int(os.environ.get("BENCH_RUN_ROWS", "1000000")),
                   help="rows in the old export (default 1000000; env BENCH_RUN_ROWS)")
    p.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUN_RUNS", "3")),
                   help="repetitions of run #2 and csv-diff (default 3; env BENCH_RUN_RUNS)")
    p.add_argument("--seed", type=int, default=20261129)
    p.add_argument("--data", default=os.path.join(BENCH, "data"))
    p.add_argument("--results", default=os.path.join(BENCH, "results"))
    a = p.parse_args(argv)
    os.makedirs(a.data, exist_ok=True)
    os.makedirs(a.results, exist_ok=True)
    out_dir = os.path.join(a.data, "out")
    os.makedirs(out_dir, exist_ok=True)
    dirs = run_dirs(a.data)
    csv_diff = shlex.split(a.csv_diff)
    csv_diff_env = dict(os.environ, PYTHONUTF8="1")  # csv-diff opens files in the locale's encoding

    old, new, expected = ensure_data(a.data, a.rows, a.seed)
    warm(old)
    warm(new)
    file_mb = (os.path.getsize(old) + os.path.getsize(new)) / 1e6
    problems = []

    # Run #1: a fresh state directory, the old export. Everything is sent.
    remove(dirs["state"])
    remove(dirs["out"])
    point_source(dirs["source"], old)
    out1 = os.path.join(out_dir, f"run_{a.rows}_run1.json")
    s1, c1, r1, st1, rep1 = dropfeed_run(a.dropfeed, out1)
    print(f"  {a.rows:,} rows, run #1 (old export, empty state): {s1:7.2f} s  ({c1:6.2f} s CPU)  "
          f"{r1 / 2**20:8.1f} MB  (load {os.getloadavg()[0]:.1f})", flush=True)
    problems += report_problems("run #1", st1, rep1, out1)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 2
    copy_tree(dirs["state"], dirs["saved"])

    # Run #2 (RUNS times, each from run #1's state) alternating with csv-diff.
    point_source(dirs["source"], new)
    samples = {"run2": [], "csv-diff": []}
    loads = []
    digests = []
    out2 = os.path.join(out_dir, f"run_{a.rows}_run2.json")
    out_cd = os.path.join(out_dir, f"run_{a.rows}_csv-diff.json")
    rep2 = None
    for run in range(a.runs):
        copy_tree(dirs["saved"], dirs["state"])
        remove(dirs["out"])
        s, c, r, st, rep2 = dropfeed_run(a.dropfeed, out2)
        loads.append(os.getloadavg()[0])
        print(f"  {a.rows:,} rows, run {run + 1}/{a.runs}: dropfeed run #2 {s:7.2f} s  ({c:6.2f} s CPU)  "
              f"{r / 2**20:8.1f} MB  (load {loads[-1]:.1f})", flush=True)
        bad = report_problems(f"run #2 (repetition {run + 1})", st, rep2, out2)
        if bad:
            print("\n".join(bad), file=sys.stderr)
            return 2
        samples["run2"].append((s, c, r))
        digests.append(file_digests(rep2))

        s, c, r, st = measure(csv_diff + [old, new, "--key", KEY, "--json", "--format", "csv"], out_cd, csv_diff_env)
        loads.append(os.getloadavg()[0])
        print(f"  {a.rows:,} rows, run {run + 1}/{a.runs}: csv-diff        {s:7.2f} s  ({c:6.2f} s CPU)  "
              f"{r / 2**20:8.1f} MB  (load {loads[-1]:.1f})", flush=True)
        if st != 0:
            with open(out_cd + ".stderr", errors="replace") as f:
                print(f"csv-diff exited {st}:\n{f.read().strip()[-1500:]}", file=sys.stderr)
            return 2
        samples["csv-diff"].append((s, c, r))

    med = {n: statistics.median(x[0] for x in v) for n, v in samples.items()}
    cpu = {n: statistics.median(x[1] for x in v) for n, v in samples.items()}
    peak = {n: max(x[2] for x in v) for n, v in samples.items()}
    speedup = med["csv-diff"] / med["run2"]
    cpu_ratio = cpu["csv-diff"] / cpu["run2"]
    memory = peak["run2"] / peak["csv-diff"]

    # Sanity checks.
    if any(d != digests[0] for d in digests):
        problems.append("run #2 wrote different bytes on different repetitions")
    with open(out_cd, encoding="utf-8") as f:
        theirs = json.load(f)
    cd_counts = {"added": len(theirs["added"]), "removed": len(theirs["removed"]), "updated": len(theirs["changed"])}
    if cd_counts != {k: expected[k] for k in cd_counts}:
        problems.append(f"csv-diff counts {cd_counts} differ from the generator's")
    first = {t["name"]: t for t in rep1["targets"]}

    table = [
        f"dropfeed run (3 targets: acme-lms delta, badges full, awareness delta; directory delivery) vs csv-diff,",
        f"on the generator's {a.rows:,}-row old/new exports ({file_mb:.0f} MB together). Run #1 reads the old export",
        "with an empty state directory (everything is sent); run #2 reads the new one against run #1's snapshots",
        f"(state restored with cp -a before each of the {a.runs} repetitions), alternating with csv-diff on the same files.",
        "median s = median wall time; cpu s = median user + system; peak RSS = largest of the runs (os.wait4).",
        "speed-up = csv-diff s / dropfeed run #2 s (wall); memory = dropfeed run #2 RSS / csv-diff RSS.",
        f"dropfeed: {tool_version([a.dropfeed, '--version'])}; csv-diff: {tool_version(csv_diff + ['--version'])}; "
        f"Python {platform.python_version()}; {os.cpu_count()} CPUs; {platform.machine()} {platform.system()} {platform.release()}",
        "",
        f"{'tool':<28}  {'runs':>4}  {'median s':>9}  {'cpu s':>7}  {'peak RSS MB':>11}",
        f"{'dropfeed run #2 (measured)':<28}  {a.runs:>4}  {med['run2']:>9.2f}  {cpu['run2']:>7.2f}  {peak['run2'] / 2**20:>11.1f}",
        f"{'csv-diff':<28}  {a.runs:>4}  {med['csv-diff']:>9.2f}  {cpu['csv-diff']:>7.2f}  {peak['csv-diff'] / 2**20:>11.1f}",
        f"{'dropfeed run #1 (first run)':<28}  {1:>4}  {s1:>9.2f}  {c1:>7.2f}  {r1 / 2**20:>11.1f}",
        "",
        f"speed-up (csv-diff s / run #2 s): {speedup:.2f}x wall, {cpu_ratio:.2f}x CPU;  "
        f"memory (run #2 RSS / csv-diff RSS): {memory:.3f}",
    ]
    judged = a.rows >= 1_000_000
    first_ratio = s1 / med["run2"]
    table.append(f"first night / second night: {first_ratio:.2f}x wall ({c1 / cpu['run2']:.2f}x CPU)")
    if judged:
        second = "met" if speedup >= 5 and memory <= 0.2 else "MISSED"
        first_target = "met" if first_ratio <= 2 else "MISSED"
        table.append(f"target: second night >= 5x faster than one csv-diff and <= 0.20 of its memory: {second}")
        table.append(f"target: first night <= 2x the second night's time: {first_target}")
    else:
        table.append("(the targets apply at 1,000,000 rows)")

    table += [
        "",
        "run #2 per target (from its --json report), beside the generator's source-level changes:",
        f"  {'target':<10}  {'status':<9}  {'rows':>8}  {'adds':>7}  {'updates':>7}  {'deletes':>7}  {'unchanged':>9}  "
        f"{'rejected':>8}  {'files (rows)':<24}  check",
    ]
    for t in rep2["targets"]:
        before = first[t["name"]]["rows"]
        ok_old = before == t["unchanged"] + t["updates"] + t["deletes"]
        ok_new = t["rows"] == t["unchanged"] + t["updates"] + t["adds"]
        if not (ok_old and ok_new):
            problems.append(f"{t['name']}: run #1 rows {before:,}, run #2 rows {t['rows']:,} do not add up "
                            f"(adds {t['adds']:,}, updates {t['updates']:,}, deletes {t['deletes']:,}, unchanged {t['unchanged']:,})")
        data = [f for f in t.get("files", []) if not f["name"].endswith((".sha256", ".done"))]
        files = ", ".join(f"{f['rows']:,}" for f in data) or "-"
        if len(data) < len(t.get("files", [])):
            files += f" +{len(t['files']) - len(data)} sidecars"
        table.append(f"  {t['name']:<10}  {t['status']:<9}  {t['rows']:>8,}  {t['adds']:>7,}  {t['updates']:>7,}  "
                     f"{t['deletes']:>7,}  {t['unchanged']:>9,}  {t['rejected']:>8,}  {files:<24}  "
                     + ("ok" if ok_old and ok_new else "FAIL"))
    table += [
        f"  {'source':<10}  {'':<9}  {expected['new_rows']:>8,}  {expected['added']:>7,}  {expected['updated']:>7,}  "
        f"{expected['removed']:>7,}  {expected['unchanged']:>9,}  {'':>8}  generator (csv-diff: "
        f"{cd_counts['added']:,} / {cd_counts['updated']:,} / {cd_counts['removed']:,})",
        "  check: run #1 rows = unchanged + updates + deletes, run #2 rows = unchanged + updates + adds. A target",
        "  sees fewer changes than the source where its `where` filters rows out or rejects them (badges: sites",
        "  windows-1252 cannot hold), and more where a source update moves a row in or out of its `where` or",
        "  changes its key (badges: a new site), which is a delete plus an add.",
        f"  run #1 (old export, first run): " + ", ".join(
            f"{t['name']} {t['adds']:,} adds / {t['rejected']:,} rejected" for t in rep1["targets"]),
        "",
        f"1-minute load average after each run: {min(loads):.1f} to {max(loads):.1f} (the tools account for 1 to 2 "
        "of it; more means other work shared the CPUs, which moves wall time but not CPU time)",
        "",
        "sanity: " + ("FAIL" if problems else "PASS") + "".join("\n  " + x for x in problems),
    ]
    print("\n" + "\n".join(table))
    path = os.path.join(a.results, "run.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(table) + "\n")
    print(f"saved {os.path.relpath(path)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
