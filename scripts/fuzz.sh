#!/usr/bin/env bash
# make fuzz: builds the libFuzzer targets in Tests/Fuzz/targets/ (outside SwiftPM: they need the
# toolchain's -sanitize=fuzzer, which must not reach the normal products) and runs each one for
# FUZZ_SECONDS seconds (default 30) on its committed seed corpus, Tests/Fuzz/corpus/TARGET/.
# Inputs that find new paths go to .build/fuzz/corpus-TARGET/; a crash stops with its input saved
# as .build/fuzz/crash-TARGET-*, which then belongs in Tests/Fuzz/regressions/ (see its README).
#   FUZZ_TARGETS="csv config snapshot"   which targets
#   FUZZ_SECONDS=30                      how long each runs (0: only replay corpus and regressions)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-30}"
targets="${FUZZ_TARGETS:-csv config snapshot}"
out=.build/fuzz
mkdir -p "$out"
export SWIFT_BACKTRACE=enable=no
# The Swift modules DropfeedCore imports, each with the system library module it wraps and the C
# library that one links (as in Package.swift).
wrappers="Digest:CLibCrypto:crypto Zip:CZlib:z"
flags=(-O -enable-testing -sanitize=fuzzer -parse-as-library -I "$out")
libs=()
for w in $wrappers; do
    IFS=: read -r module cmodule clib <<<"$w"
    flags+=(-I "Sources/$cmodule")
    libs+=("$out/lib$module.a" "-l$clib")
done

# Rebuilds $1 when it is missing or older than any Swift file under the folders that follow.
stale() { [ ! -e "$1" ] || [ -n "$(find "${@:2}" -name '*.swift' -newer "$1" -print -quit)" ]; }

for w in $wrappers; do
    IFS=: read -r module cmodule clib <<<"$w"
    if stale "$out/lib$module.a" "Sources/$module"; then
        echo "fuzz: building $module"
        swiftc "${flags[@]}" -module-name "$module" -emit-module -emit-module-path "$out/$module.swiftmodule" \
            -emit-library -static "Sources/$module"/*.swift -o "$out/lib$module.a"
    fi
done
if stale "$out/libDropfeedCore.a" Sources/DropfeedCore Sources/Digest Sources/Zip; then
    echo "fuzz: building DropfeedCore (instrumented, -O; a few minutes)"
    swiftc "${flags[@]}" -module-name DropfeedCore -emit-module -emit-module-path "$out/DropfeedCore.swiftmodule" \
        -emit-library -static $(find Sources/DropfeedCore -name '*.swift' | sort) -o "$out/libDropfeedCore.a"
fi
status=0
for target in $targets; do
    binary="$out/fuzz-$target"
    if stale "$binary" "Tests/Fuzz/targets/$target.swift" Tests/Fuzz/Support || [ "$out/libDropfeedCore.a" -nt "$binary" ]; then
        echo "fuzz: linking $target"
        swiftc "${flags[@]}" "Tests/Fuzz/targets/$target.swift" Tests/Fuzz/Support/*.swift "$out/libDropfeedCore.a" \
            "${libs[@]}" -o "$binary"
    fi
    mkdir -p "$out/corpus-$target"
    regressions=()
    [ -d "Tests/Fuzz/regressions/$target" ] && regressions=("Tests/Fuzz/regressions/$target")
    echo "fuzz: $target for ${seconds}s"
    # Replay the seeds and every earlier crash first, then fuzz.
    "$binary" -runs=0 "Tests/Fuzz/corpus/$target" "${regressions[@]}" 2>"$out/replay-$target.log" || {
        echo "fuzz: $target fails on its corpus or a regression:"; tail -20 "$out/replay-$target.log"; status=1; continue; }
    if [ "$seconds" -gt 0 ]; then
        "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
            -artifact_prefix="$out/crash-$target-" "$out/corpus-$target" "Tests/Fuzz/corpus/$target" \
            2>"$out/run-$target.log" || { echo "fuzz: $target crashed:"; tail -30 "$out/run-$target.log"; status=1; continue; }
        grep -E "^#[0-9]+.*(DONE|pulse)" "$out/run-$target.log" | tail -1 || true
    fi
done
exit $status
