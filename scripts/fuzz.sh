#!/usr/bin/env bash
# Fuzzes the gateway's parsers with libFuzzer: builds Fuzz/ (the parser targets only, instrumented with
# AddressSanitizer) and runs each target for a bounded time from its committed seeds in Fuzz/corpus.
#
#   scripts/fuzz.sh [--seconds N] [TARGET...]     (default: 30 s for each target; names: json, openai,
#                                                  anthropic, gemini, sse, multipart, wordpiece, ...)
#
# New inputs the fuzzer finds go to the git-ignored Fuzz/.work/TARGET; a crash is written to
# Fuzz/crashes/TARGET-crash-*, the run fails, and the input belongs in Fuzz/regressions/TARGET once fixed
# (CorpusReplayTests replays it in every ordinary test run).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=30
targets=()
while (($#)); do
    case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    -h | --help) sed -n 2,11p "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
    esac
done

export OPENBLAS_NUM_THREADS=1
echo "==> swift build (Fuzz/, -sanitize=fuzzer,address)" >&2
swift build --package-path Fuzz -c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld
binary=Fuzz/.build/debug/routershift-fuzz

if ((${#targets[@]} == 0)); then
    # The binary names its targets when none is chosen.
    names=$( (ROUTERSHIFT_FUZZ_TARGET= "$binary" 2>&1 || true) | sed -n 's/^set ROUTERSHIFT_FUZZ_TARGET to one of: //p')
    IFS=', ' read -r -a targets <<<"$names"
fi
vocabulary=$(find "${ROUTERSHIFT_HOME:-data}/models" -name vocab.txt 2>/dev/null | head -1 || true)

mkdir -p Fuzz/crashes
printf '%-10s %10s %10s %8s %s\n' target seconds executions corpus result
failed=0
for target in "${targets[@]}"; do
    work="Fuzz/.work/$target"
    mkdir -p "$work"
    log=$(mktemp)
    result=ok
    ROUTERSHIFT_FUZZ_TARGET="$target" ROUTERSHIFT_FUZZ_VOCABULARY="$vocabulary" \
        ASAN_OPTIONS=detect_leaks=0 SWIFT_BACKTRACE=enable=no "$binary" "$work" "Fuzz/corpus/$target" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
        -artifact_prefix="Fuzz/crashes/$target-" >"$log" 2>&1 || result=CRASH
    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    corpus=$(find "$work" -type f | wc -l)
    printf '%-10s %10s %10s %8s %s\n' "$target" "$seconds" "${executions:-?}" "$corpus" "$result"
    if [[ $result != ok ]]; then
        failed=1
        grep -E "ERROR|fuzz property broken|Fatal error|SUMMARY|Test unit written" "$log" | head -20 >&2 || true
    fi
    rm -f "$log"
done
exit "$failed"
