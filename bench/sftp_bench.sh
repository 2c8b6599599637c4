#!/usr/bin/env bash
# SFTP upload throughput: Dropfeed's SFTP module (libssh2 1.10) beside OpenSSH's own
# `sftp` client, the same file to the same loopback sshd, alternating, RUNS times each. Prints the median
# MB/s of each and their ratio (target: Dropfeed ≥ 90% of OpenSSH); saves it to bench/results/sftp.txt.
#
# Builds nothing: run `swift build -c release` first (the driver is the dropfeed-sftp-bench product).
# Environment: SFTP_BENCH_MB (file size, default 1024), SFTP_BENCH_RUNS (default 3), SFTP_BENCH_BIN
# (the driver; default: the release build's).
set -euo pipefail
cd "$(dirname "$0")/.."

size_mb=${SFTP_BENCH_MB:-1024}
runs=${SFTP_BENCH_RUNS:-3}
bin=${SFTP_BENCH_BIN:-"$(swift build -c release --show-bin-path)/dropfeed-sftp-bench"}
if [ ! -x "$bin" ]; then
    echo "sftp_bench: no driver at $bin (run: swift build -c release)" >&2
    exit 1
fi
command -v sftp >/dev/null || { echo "sftp_bench: OpenSSH sftp client not found" >&2; exit 1; }

work=$(mktemp -d)
trap 'scripts/sshd-harness.sh stop "$work/sshd" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
scripts/sshd-harness.sh start "$work/sshd" >/dev/null
# shellcheck source=/dev/null
source "$work/sshd/env"
mkdir "$work/inbound"
# Random bytes: nothing on the way can take a shortcut through repeated data.
head -c $((size_mb << 20)) /dev/urandom >"$work/upload.bin"
bytes=$((size_mb << 20))

dropfeed_upload() {
    "$bin" "$HOST" "$PORT" "$SFTP_USER" "$IDENTITY" "$KNOWN_HOSTS" "$work/upload.bin" "$work/inbound" >/dev/null
}

openssh_upload() {
    echo "put $work/upload.bin $work/inbound/upload.bin" |
        sftp -q -b - -P "$PORT" -i "$IDENTITY" -o IdentitiesOnly=yes -o BatchMode=yes \
            -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$KNOWN_HOSTS" "$SFTP_USER@$HOST" >/dev/null
}

# Times one upload (connect to disconnect) into an empty directory; prints MB/s and the client's
# CPU seconds (user + system, its child processes included: OpenSSH's sftp runs ssh).
timed() {
    rm -f "$work/inbound/"*
    sync
    local TIMEFORMAT='%R %U %S' real user system
    { time "$1" 2>&3; } 3>&2 2>"$work/time"
    read -r real user system <"$work/time"
    cmp -s "$work/upload.bin" "$work/inbound/upload.bin" || { echo "sftp_bench: $1 delivered different bytes" >&2; exit 1; }
    awk -v b="$bytes" -v r="$real" -v u="$user" -v s="$system" 'BEGIN { printf "%.1f %.2f\n", b / r / 1e6, u + s }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

dropfeed_rates=() dropfeed_cpu=() openssh_rates=() openssh_cpu=()
for run in $(seq 1 "$runs"); do
    read -r rate cpu < <(timed dropfeed_upload)
    dropfeed_rates+=("$rate") dropfeed_cpu+=("$cpu")
    read -r rate cpu < <(timed openssh_upload)
    openssh_rates+=("$rate") openssh_cpu+=("$cpu")
    echo "run $run/$runs: dropfeed ${dropfeed_rates[-1]} MB/s, openssh ${openssh_rates[-1]} MB/s" >&2
done
dropfeed=$(printf '%s\n' "${dropfeed_rates[@]}" | median)
openssh=$(printf '%s\n' "${openssh_rates[@]}" | median)

mkdir -p bench/results
{
    echo "sftp upload: $size_mb MB over loopback to $(ssh -V 2>&1 | cut -d, -f1), median of $runs (MB = 10^6 bytes)"
    printf '  %-38s %8s %-10s %s\n' "" "MB/s" "client CPU" "runs (MB/s)"
    printf '  %-38s %8s %8ss   %s\n' "dropfeed (SFTP module, libssh2 1.10)" "$dropfeed" \
        "$(printf '%s\n' "${dropfeed_cpu[@]}" | median)" "${dropfeed_rates[*]}"
    printf '  %-38s %8s %8ss   %s\n' "openssh sftp -b" "$openssh" \
        "$(printf '%s\n' "${openssh_cpu[@]}" | median)" "${openssh_rates[*]}"
    awk -v d="$dropfeed" -v o="$openssh" \
        'BEGIN { r = 100 * d / o; printf "  %-38s %8.1f %%  (target >= 90%%) %s\n", "dropfeed / openssh", r, (r >= 90 ? "ok" : "BELOW TARGET") }'
    echo "  load average while running: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
} | tee bench/results/sftp.txt
