#!/usr/bin/env bash
# Dropfeed beside its peers: `make bench` runs `bench/bench.sh [diff|run|sftp]...` after a release build.
# With no argument it runs every section that exists. See bench/README.md.
#
#   diff   dropfeed diff vs Python csv-diff on generated 100k and 1M row exports (bench_diff.py)
#   run    bench/bench_run.sh, when it exists
#   sftp   bench/sftp_bench.sh, when it exists
#
# Environment: DROPFEED_BIN (default: the release build's dropfeed), BENCH_DIFF_SIZES (ROWS:RUNS,...),
# PYTHON (default python3).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
CSV_DIFF_VERSION=1.2
venv=bench/data/venv

if [ -z "${DROPFEED_BIN:-}" ]; then
    DROPFEED_BIN="$(swift build -c release --show-bin-path)/dropfeed"
fi
export DROPFEED_BIN
if [ ! -x "$DROPFEED_BIN" ]; then
    echo "bench: no dropfeed binary at $DROPFEED_BIN (run: swift build -c release --product dropfeed)" >&2
    exit 1
fi

# Prints the csv-diff command to use: a pinned csv-diff in bench/data/venv, installed when missing.
csv_diff_command() {
    if [ ! -x "$venv/bin/csv-diff" ]; then
        echo "bench: installing csv-diff $CSV_DIFF_VERSION into $venv" >&2
        if ! "$PYTHON" -m venv "$venv" >&2 2>/dev/null; then
            # Debian's python3 lacks ensurepip until python3-venv is installed.
            rm -rf "$venv"
            if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
                apt-get install -y -qq python3-venv >&2 || { apt-get update -qq >&2 && apt-get install -y -qq python3-venv >&2; }
                "$PYTHON" -m venv "$venv" >&2
            fi
        fi
        if [ -x "$venv/bin/pip" ]; then
            "$venv/bin/pip" install -q "csv-diff==$CSV_DIFF_VERSION" >&2
        fi
    fi
    if [ -x "$venv/bin/csv-diff" ]; then
        echo "$venv/bin/csv-diff"
    elif command -v csv-diff >/dev/null; then
        echo "bench: could not make $venv; using the csv-diff on PATH" >&2
        command -v csv-diff
    else
        echo "bench: csv-diff is not available (python3 -m venv failed and there is none on PATH)" >&2
        return 1
    fi
}

section_diff() {
    local csv_diff
    csv_diff=$(csv_diff_command) || return 1
    "$PYTHON" bench/bench_diff.py --dropfeed "$DROPFEED_BIN" --csv-diff "$csv_diff"
}

# Runs another engineer's benchmark script if it is there; `required` makes its absence an error.
section_script() {
    local name=$1 script=$2 required=$3
    if [ -f "$script" ]; then
        bash "$script"
    elif [ "$required" = yes ]; then
        echo "bench $name: $script does not exist yet" >&2
        return 1
    else
        echo "bench $name: skipped ($script does not exist yet)"
    fi
}

required=yes
sections=("$@")
if [ ${#sections[@]} -eq 0 ]; then
    sections=(diff run sftp)
    required=no
fi

for section in "${sections[@]}"; do
    case "$section" in
        diff | run | sftp) ;;
        *) echo "bench: unknown section \`$section\` (diff, run, sftp)" >&2; exit 64 ;;
    esac
done

status=0
for section in "${sections[@]}"; do
    echo "== bench $section =="
    case "$section" in
        diff) section_diff || status=1 ;;
        run) section_script run bench/bench_run.sh "$required" || status=1 ;;
        sftp) section_script sftp bench/sftp_bench.sh "$required" || status=1 ;;
    esac
    echo
done
exit $status
