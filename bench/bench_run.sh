#!/usr/bin/env bash
# The `run` section of `make bench` (bench/bench.sh runs it from the repository root with DROPFEED_BIN
# exported): a whole three-target `dropfeed run` on the generator's 1,000,000-row old/new exports
# beside one csv-diff of the same files. The work is in bench/run/bench_run.py; see bench/README.md.
#
# Environment: DROPFEED_BIN (default: the release build's dropfeed), BENCH_RUN_ROWS (default 1000000),
# BENCH_RUN_RUNS (default 3), PYTHON (default python3). Arguments are passed to bench_run.py.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
CSV_DIFF_VERSION=1.2
venv=bench/data/venv

if [ -z "${DROPFEED_BIN:-}" ]; then
    DROPFEED_BIN="$(swift build -c release --show-bin-path)/dropfeed"
fi
if [ ! -x "$DROPFEED_BIN" ]; then
    echo "bench run: no dropfeed binary at $DROPFEED_BIN (run: swift build -c release --product dropfeed)" >&2
    exit 1
fi

# The csv-diff bench.sh's diff section uses (installed there into $venv when missing); same fallbacks.
if [ ! -x "$venv/bin/csv-diff" ]; then
    echo "bench run: installing csv-diff $CSV_DIFF_VERSION into $venv" >&2
    mkdir -p bench/data
    if "$PYTHON" -m venv "$venv" >&2 2>/dev/null && [ -x "$venv/bin/pip" ]; then
        "$venv/bin/pip" install -q "csv-diff==$CSV_DIFF_VERSION" >&2 || true
    else
        rm -rf "$venv"
    fi
fi
if [ -x "$venv/bin/csv-diff" ]; then
    csv_diff="$venv/bin/csv-diff"
elif command -v csv-diff >/dev/null; then
    echo "bench run: no $venv; using the csv-diff on PATH" >&2
    csv_diff=$(command -v csv-diff)
else
    echo "bench run: csv-diff is not available (run \`bench/bench.sh diff\` once, or pip install csv-diff==$CSV_DIFF_VERSION)" >&2
    exit 1
fi

exec "$PYTHON" bench/run/bench_run.py --dropfeed "$DROPFEED_BIN" --csv-diff "$csv_diff" "$@"
