#!/usr/bin/env bash
# make demo: the whole job on the samples, against a throw-away sshd on loopback.
#
# Copies samples/ and mappings/ into demo-work/ (git-ignored), starts an unprivileged sshd on a
# free port (scripts/sshd-harness.sh) logging in as the current user with a throw-away key, points
# the sample config's SFTP target at it, then: validate, check-connection, plan, run, what arrived,
# run again (nothing new), the next day's export, run, and stops the server.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${DROPFEED_BIN:-$(cd "$ROOT" && swift build -c release --show-bin-path)/dropfeed}
WORK=$ROOT/demo-work
[ -x "$BIN" ] || { echo "demo: $BIN is missing; run 'make release' first" >&2; exit 1; }
if [ ! -x /usr/sbin/sshd ]; then
    "$ROOT/scripts/deps.sh" openssh-server || { echo "demo: needs OpenSSH's sshd: run 'sudo make deps'" >&2; exit 1; }
fi

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
rm -rf "$WORK"
mkdir -p "$WORK/sftp-inbound"
cp -R "$ROOT/samples" "$ROOT/mappings" "$WORK/"
rm -rf "$WORK/samples/state" "$WORK/samples/outbox" "$WORK/samples/demo"

say "starting a throw-away sshd on 127.0.0.1"
"$ROOT/scripts/sshd-harness.sh" start "$WORK/samples/demo" >/dev/null
trap '"$ROOT/scripts/sshd-harness.sh" stop "$WORK/samples/demo" >/dev/null 2>&1 || true' EXIT
# shellcheck disable=SC1091
source "$WORK/samples/demo/env"
echo "sshd on port $PORT, logging in as $SFTP_USER with a throw-away Ed25519 key"
sed -e "s|port: 2222,|port: $PORT,|" \
    -e "s|user: \"dropfeed\",|user: \"$SFTP_USER\",|" \
    -e "s|remoteDir: \"/inbound\",|remoteDir: \"$WORK/sftp-inbound\",|" \
    "$ROOT/samples/dropfeed.json" >"$WORK/samples/dropfeed.json"
cd "$WORK/samples"

say "dropfeed validate"
"$BIN" validate
say "dropfeed check-connection"
"$BIN" check-connection
say "dropfeed plan   (the dry run: nothing is sent, no state changes)"
"$BIN" plan
say "dropfeed run --report run1.json"
"$BIN" run --report run1.json
say "what arrived on the SFTP server"
ls -l "$WORK/sftp-inbound"
head -n 3 "$WORK"/sftp-inbound/*.csv | cut -c1-160
say "what arrived in the local folders"
ls -l outbox/*
say "dropfeed run   (again, same export: nothing new to send)"
"$BIN" run
say "the next day's export arrives: dropfeed run"
cp hr_export_next.csv hr_export.csv
"$BIN" run
ls -l "$WORK/sftp-inbound"
say "dropfeed state list"
"$BIN" state list
say "done: the files are in $WORK; the sshd is stopped"
