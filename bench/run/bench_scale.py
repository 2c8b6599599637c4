#!/usr/bin/env python3
"""`make bench-scale`: the 3-target feed of bench/run/ on a 10,000,000-row export, three nights.

    bench_scale.py --dropfeed BIN [--rows 10000000] [--seed S] [--data DIR] [--results DIR]

Night 1 reads the generator's old export with an empty state directory (everything is sent), night 2
the new export (1% added, 4% updated, 1% removed), night 3 the old export again (the same changes
undone). Each night is one fresh `dropfeed run` child: wall time, CPU (user + system) and peak RSS
(os.wait4), printed per night and per million rows. After night 3 it prints the state directory's
size per target beside the export's size. Targets of the issue: it completes on a 2-core 24 GB
machine with peak RSS <= 3 GB; the state directory <= 1.5x the export's size per target (a goal).
The large exports are COPIES (rows / 1,000,000) copies of the generator's 1,000,000-row pair with
their keys, managers and emails made unique (bench/run/scale_exports.py; the generator itself holds
every row in memory). Uses the same paths as bench_run.py (bench/data/run-source.csv, run-state/,
run-out/).
"""

import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
sys.path.insert(0, BENCH)
sys.path.insert(0, HERE)
from bench_diff import ensure_data, tool_version  # noqa: E402
from bench_run import dropfeed_run, point_source, remove, report_problems, run_dirs  # noqa: E402


def tree_size(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            total += os.lstat(os.path.join(root, name)).st_size
    return total


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dropfeed", required=True)
    p.add_argument("--rows", type=int, default=int(os.environ.get("BENCH_SCALE_ROWS", "10000000")))
    p.add_argument("--seed", type=int, default=20261129)
    p.add_argument("--data", default=os.path.join(BENCH, "data"))
    p.add_argument("--results", default=os.path.join(BENCH, "results"))
    a = p.parse_args(argv)
    os.makedirs(a.data, exist_ok=True)
    os.makedirs(a.results, exist_ok=True)
    out_dir = os.path.join(a.data, "out")
    os.makedirs(out_dir, exist_ok=True)
    dirs = run_dirs(a.data)
    base_old, base_new, _ = ensure_data(a.data, 1_000_000, a.seed)
    copies = max(1, a.rows // 1_000_000)
    a.rows = copies * 1_000_000
    old = os.path.join(a.data, f"scale_{a.rows}_old.csv")
    new = os.path.join(a.data, f"scale_{a.rows}_new.csv")
    if not (os.path.exists(old) and os.path.exists(new)) or os.path.getmtime(old) < os.path.getmtime(base_old):
        print(f"making the {a.rows:,}-row exports ({copies} copies of the 1,000,000-row pair) ...", flush=True)
        subprocess.run([sys.executable, os.path.join(HERE, "scale_exports.py"), base_old, base_new, old, new,
                        "--copies", str(copies)], check=True)
    export_mb = os.path.getsize(old) / 1e6
    remove(dirs["state"])
    problems = []
    nights = []
    for night, export in enumerate([old, new, old], start=1):
        remove(dirs["out"])
        point_source(dirs["source"], export)
        out = os.path.join(out_dir, f"scale_{a.rows}_night{night}.json")
        s, c, r, st, rep = dropfeed_run(a.dropfeed, out)
        problems += report_problems(f"night {night}", st, rep, out)
        nights.append((s, c, r, rep))
        print(f"  night {night}: {s:8.1f} s  ({c:7.1f} s CPU)  {r / 2**30:6.2f} GB peak  "
              f"(load {os.getloadavg()[0]:.1f})", flush=True)
        if problems:
            break
    millions = a.rows / 1e6
    table = [
        f"dropfeed run, 3 targets (bench/run/), {a.rows:,}-row export ({export_mb:.0f} MB), three nights:",
        "night 1 = old export, empty state; night 2 = new export; night 3 = old export again.",
        f"dropfeed: {tool_version([a.dropfeed, '--version'])}; {os.cpu_count()} CPUs",
        "",
        f"{'night':<8}  {'wall s':>8}  {'cpu s':>8}  {'peak RSS GB':>11}  {'s per M rows':>12}  {'MB RSS per M rows':>17}",
    ]
    for k, (s, c, r, _) in enumerate(nights, start=1):
        table.append(f"{k:<8}  {s:>8.1f}  {c:>8.1f}  {r / 2**30:>11.2f}  {s / millions:>12.2f}  "
                     f"{r / 2**20 / millions:>17.1f}")
    peak = max(r for _, _, r, _ in nights) / 2**30
    table += ["", f"peak RSS {peak:.2f} GB: target <= 3 GB: " + ("met" if peak <= 3 and not problems else "MISSED")]
    if len(nights) == 3:
        table.append("")
        table.append(f"state directory after three nights (export {export_mb:.0f} MB):")
        worst = 0.0
        for t in sorted(os.listdir(dirs["state"])):
            path = os.path.join(dirs["state"], t)
            if not os.path.isdir(path):
                continue
            mb = tree_size(path) / 1e6
            worst = max(worst, mb / export_mb)
            table.append(f"  {t:<12} {mb:8.0f} MB  ({mb / export_mb:.2f}x the export)")
        table.append(f"goal <= 1.5x the export per target: " + ("met" if worst <= 1.5 else "MISSED"))
    table.append("")
    table.append("sanity: " + ("FAIL" if problems else "PASS") + "".join("\n  " + x for x in problems))
    print("\n" + "\n".join(table))
    path = os.path.join(a.results, "scale.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(table) + "\n")
    print(f"saved {os.path.relpath(path)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
