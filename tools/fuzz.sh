#!/usr/bin/env bash
# Runs each libFuzzer binary build/fuzz/NAME on tests/fuzz/corpus/NAME for
# FUZZ_SECONDS; a crash, leak, timeout or OOM makes the script fail.
#
#   FUZZ_SECONDS=20 tools/fuzz.sh build/fuzz/fuzz_ws_frame ...
#
# Short runs (<= 60 s, as in `make test`) keep what they find out of the
# repo, so a test run never dirties the tree; longer runs merge the inputs
# that add coverage back into the corpus. Run from the repository root.
set -euo pipefail

seconds=${FUZZ_SECONDS:-300}
short_run=60
artifacts=build/fuzz/artifacts

if [[ ! -d tests/fuzz ]]; then
    echo "fuzz.sh: run me from the repository root" >&2
    exit 2
fi
if (($# == 0)); then
    shopt -s nullglob
    set -- build/fuzz/fuzz_*
    shopt -u nullglob
fi
if (($# == 0)); then
    echo "fuzz.sh: no fuzz binaries given and none in build/fuzz/" >&2
    exit 2
fi

mkdir -p "$artifacts"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

failed=()
for bin in "$@"; do
    name=$(basename "$bin")
    corpus=tests/fuzz/corpus/$name
    fresh=$scratch/$name
    log=$scratch/$name.log
    mkdir -p "$corpus" "$fresh"
    start=$SECONDS
    status=ok

    # libFuzzer writes new inputs into the first directory only.
    if ! "$bin" -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=10 \
            -print_final_stats=1 -artifact_prefix="$artifacts/$name-" \
            "$fresh" "$corpus" >"$log" 2>&1; then
        status=FAILED
    fi
    if [[ $status == ok ]] && ((seconds > short_run)); then
        if ! "$bin" -merge=1 -rss_limit_mb=1024 -timeout=10 \
                -artifact_prefix="$artifacts/$name-" \
                "$corpus" "$fresh" >>"$log" 2>&1; then
            status="FAILED (merge)"
        fi
    fi

    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    found=$(find "$fresh" -type f | wc -l)
    printf '%s: %s, %s execs in %ss, %s new inputs%s\n' \
        "$name" "$status" "${execs:-?}" "$((SECONDS - start))" "$found" \
        "$( ((seconds > short_run)) && echo ' (merged)' || echo ' (discarded)')"
    if [[ $status != ok ]]; then
        tail -n 60 "$log" >&2
        failed+=("$name")
    fi
done

if ((${#failed[@]} > 0)); then
    echo "fuzz.sh: failed: ${failed[*]} (inputs in $artifacts/)" >&2
    exit 1
fi
