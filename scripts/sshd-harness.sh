#!/usr/bin/env bash
# A throw-away OpenSSH sshd on 127.0.0.1 (and ::1), for the SFTP tests, the end-to-end tests, the
# demo and the benchmark. It runs as the calling user (root or not) on a free high port; that same
# user logs in with a throw-away key.
#
#   sshd-harness.sh start DIR    create DIR (if needed), keys and config; start sshd; print its port
#   sshd-harness.sh stop DIR     stop sshd and its session processes (DIR itself is left alone)
#   sshd-harness.sh kill DIR     SIGKILL sshd and its session processes at once: a crash
#   sshd-harness.sh freeze DIR   SIGSTOP the session processes: a server that stops answering
#
# After `start`, DIR holds:
#   port, env             the port; HOST= PORT= SFTP_USER= IDENTITY= KNOWN_HOSTS= for `source`
#   id_ed25519(.pub)      the client key, listed in authorized_keys (append more keys there)
#   known_hosts           both host keys, as `[127.0.0.1]:PORT`
#   host_ed25519, host_ecdsa, sshd_config, sshd.log, sshd.pid
#
# As root, sshd also accepts passwords of local users (UsePAM no: users with a shadow password).
set -euo pipefail

SSHD=/usr/sbin/sshd
HOST=127.0.0.1

usage() {
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 64
}

die() {
    echo "sshd-harness: $*" >&2
    exit 1
}

# Prints the pids of all descendants of $1, deepest first (from /proc: no procps needed).
descendants() {
    local parent=$1 stat line ppid child
    for stat in /proc/[0-9]*/stat; do
        read -r line <"$stat" 2>/dev/null || continue
        read -r _ ppid _ <<<"${line##*) }"     # after "pid (comm) ": state ppid ...
        if [ "$ppid" = "$parent" ]; then
            child=${stat#/proc/}
            child=${child%/stat}
            descendants "$child"
            echo "$child"
        fi
    done
}

# Whether process $1 runs (a zombie, waiting for init to reap it, does not count).
alive() {
    local line
    read -r line <"/proc/$1/stat" 2>/dev/null || return 1
    [[ "${line##*) }" != Z* ]]
}

# Prints the pid of the sshd started from DIR and of all its descendants, deepest first. They are
# collected before any signal: session processes outlive the listener and would become orphans.
server_tree() {
    local dir=$1 pid
    [ -f "$dir/sshd.pid" ] || return 0
    pid=$(cat "$dir/sshd.pid")
    alive "$pid" || return 0
    descendants "$pid"
    echo "$pid"
}

port_open() {
    (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

write_config() {
    local dir=$1 port=$2
    # [::1] too, for IPv6 tests; sshd carries on with 127.0.0.1 where IPv6 is missing.
    cat >"$dir/sshd_config" <<EOF
ListenAddress $HOST:$port
ListenAddress [::1]:$port
HostKey $dir/host_ed25519
HostKey $dir/host_ecdsa
PidFile $dir/sshd.pid.sshd
AuthorizedKeysFile $dir/authorized_keys
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
X11Forwarding no
AllowTcpForwarding no
Subsystem sftp internal-sftp
LogLevel VERBOSE
EOF
}

start() {
    local dir=$1 user port pid attempt
    [ -x "$SSHD" ] || die "$SSHD not found: install openssh-server (sudo make deps)"
    command -v ssh-keygen >/dev/null || die "ssh-keygen not found: install openssh-client"
    mkdir -p "$dir"
    chmod 700 "$dir"
    dir=$(cd "$dir" && pwd)
    if [ -f "$dir/sshd.pid" ] && alive "$(cat "$dir/sshd.pid")"; then
        die "an sshd from $dir is already running (stop it first)"
    fi
    user=$(id -un)
    for type in ed25519 ecdsa; do
        [ -f "$dir/host_$type" ] || ssh-keygen -q -t "$type" -N '' -C "dropfeed-test-host" -f "$dir/host_$type"
    done
    [ -f "$dir/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C "dropfeed-test-client" -f "$dir/id_ed25519"
    touch "$dir/authorized_keys"
    grep -qxF "$(cat "$dir/id_ed25519.pub")" "$dir/authorized_keys" || cat "$dir/id_ed25519.pub" >>"$dir/authorized_keys"
    chmod 600 "$dir/authorized_keys"
    # sshd started by root needs its privilege-separation directory.
    if [ "$(id -u)" -eq 0 ]; then mkdir -p /run/sshd && chmod 755 /run/sshd; fi

    for attempt in 1 2 3 4 5 6 7 8 9 10; do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        port_open "$port" && continue
        write_config "$dir" "$port"
        "$SSHD" -t -f "$dir/sshd_config" 2>"$dir/sshd.log" || die "invalid sshd config: $(cat "$dir/sshd.log")"
        # Absolute path: sshd re-executes itself. All descriptors go to files, so that a caller
        # reading our stdout is not kept waiting by the server.
        "$SSHD" -D -e -f "$dir/sshd_config" </dev/null >>"$dir/sshd.log" 2>&1 &
        pid=$!
        echo "$pid" >"$dir/sshd.pid"
        for _ in $(seq 1 100); do
            port_open "$port" && break
            alive "$pid" || break
            sleep 0.05
        done
        if alive "$pid" && port_open "$port"; then
            for type in ed25519 ecdsa; do
                printf '[%s]:%s %s\n' "$HOST" "$port" "$(cut -d' ' -f1,2 "$dir/host_$type.pub")"
            done >"$dir/known_hosts"
            echo "$port" >"$dir/port"
            cat >"$dir/env" <<EOF
HOST=$HOST
PORT=$port
SFTP_USER=$user
IDENTITY=$dir/id_ed25519
KNOWN_HOSTS=$dir/known_hosts
EOF
            echo "$port"
            return 0
        fi
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        rm -f "$dir/sshd.pid"
    done
    die "sshd did not start; see $dir/sshd.log"
}

stop() {
    local dir=$1 pids pid
    pids=$(server_tree "$dir")
    if [ -n "$pids" ]; then
        # shellcheck disable=SC2086
        kill -CONT $pids 2>/dev/null || true
        # shellcheck disable=SC2086
        kill -TERM $pids 2>/dev/null || true
        for pid in $pids; do
            for _ in $(seq 1 40); do
                alive "$pid" || break
                sleep 0.05
            done
        done
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null || true
    fi
    rm -f "$dir/sshd.pid"
}

[ $# -eq 2 ] || usage
case "$1" in
    start) start "$2" ;;
    stop) stop "$2" ;;
    kill)
        # shellcheck disable=SC2046
        kill -KILL $(server_tree "$2") 2>/dev/null || true
        ;;
    freeze)
        [ -f "$2/sshd.pid" ] || die "no sshd running from $2"
        # shellcheck disable=SC2046
        kill -STOP $(descendants "$(cat "$2/sshd.pid")") 2>/dev/null || true
        ;;
    *) usage ;;
esac
