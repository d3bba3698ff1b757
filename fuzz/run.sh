#!/usr/bin/env bash
# Runs one fuzz target for SECONDS (default 60) under cargo fuzz (libFuzzer)
# on stable Rust, at the lowest CPU priority, after replaying its
# regression inputs. Corpus: $FUZZ_CORPUS/TARGET (default fuzz/corpus;
# seeded by seeds.py when missing; not in git). New crashes land in fuzz/artifacts/TARGET/.
#
#   fuzz/run.sh TARGET [SECONDS]      one target
#   fuzz/run.sh all [SECONDS]         every target in turn
#   fuzz/run.sh replay                 regression inputs only, every target
#
# Env: FUZZ_JOBS (cargo build jobs, default 1), FUZZ_RSS_MB (default 2048),
# FUZZ_TIMEOUT (seconds one input may take, default 30: the fuzzer runs at nice 19 beside other work).
set -euo pipefail
cd "$(dirname "$0")/.."
TARGETS=(feed sanitize wire markdown opml config query serve_path)
CARGO_FUZZ_VERSION=0.13.2

target=${1:?usage: fuzz/run.sh TARGET|all|replay [SECONDS]}
seconds=${2:-60}

# libFuzzer's instrumentation (-Cpasses=sancov-module and friends) is
# stable, but cargo fuzz also passes -Z flags; RUSTC_BOOTSTRAP lets the
# stable compiler take them. No sanitizer (-s none): the code is safe Rust,
# and ASan would halve the executions this 2-core machine gets.
export RUSTC_BOOTSTRAP=1
export CARGO_BUILD_JOBS=${FUZZ_JOBS:-1}
FUZZ_FLAGS=(-s none)
# Where the corpus lives: outside the repository (e.g. /work/fuzz-corpus)
# lets long runs carry on across worktrees and sessions.
export FUZZ_CORPUS=${FUZZ_CORPUS:-fuzz/corpus}
CORPUS=$FUZZ_CORPUS

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

dict_of() {
  case $1 in
    feed | opml) echo fuzz/dict/xml.dict ;;
    sanitize) echo fuzz/dict/html.dict ;;
    markdown) echo fuzz/dict/markdown.dict ;;
    wire) echo fuzz/dict/wire.dict ;;
    config) echo fuzz/dict/toml.dict ;;
    query) echo fuzz/dict/query.dict ;;
    serve_path) echo fuzz/dict/path.dict ;;
  esac
}

build() {
  cargo fuzz build "${FUZZ_FLAGS[@]}" "$@"
}

binary() {
  echo "fuzz/target/x86_64-unknown-linux-gnu/release/$1"
}

# Every committed regression input, run once: none may crash or time out.
replay() {
  local t=$1 dir=fuzz/regressions/$1
  [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ] || return 0
  echo "fuzz: $t: replaying $(ls "$dir" | wc -l) regression input(s)"
  nice -n 19 "$(binary "$t")" -timeout="${FUZZ_TIMEOUT:-30}" -rss_limit_mb="${FUZZ_RSS_MB:-2048}" "$dir"/* 2>&1 | tail -n 3
  return "${PIPESTATUS[0]}"
}

run() {
  local t=$1 log=fuzz/logs/$1.log
  mkdir -p fuzz/logs "fuzz/artifacts/$t"
  [ -d "$CORPUS/$t" ] || python3 fuzz/seeds.py "$t"
  replay "$t"
  echo "fuzz: $t: fuzzing for ${seconds}s (log $log)"
  local status=0
  # The binary's name holds "fuzz" (fuzz/target/…): visible as a fuzzer.
  nice -n 19 "$(binary "$t")" "$CORPUS/$t" \
    -dict="$(dict_of "$t")" -max_total_time="$seconds" -timeout="${FUZZ_TIMEOUT:-30}" \
    -rss_limit_mb="${FUZZ_RSS_MB:-2048}" -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="fuzz/artifacts/$t/" >"$log" 2>&1 || status=$?
  # The figures: executions, coverage (edges, features), corpus.
  local done_line stats
  done_line=$(grep -E '^#[0-9]+[[:space:]]+(DONE|INITED)' "$log" | tail -n 1 || true)
  stats=$(grep -E '^stat::number_of_executed_units|^stat::average_exec_per_sec|^stat::peak_rss_mb' "$log" | tr '\n' ' ' || true)
  echo "fuzz: $t: ${done_line:-no summary} $stats"
  if [ "$status" -ne 0 ]; then
    echo "fuzz: $t: FAILED (status $status); the input is in fuzz/artifacts/$t/:" >&2
    grep -E 'panicked at|ERROR: libFuzzer|SUMMARY|Test unit written' "$log" | head -n 12 >&2 || true
    grep -A6 'panicked at' "$log" | head -n 20 >&2 || true
    return "$status"
  fi
}

case $target in
  replay)
    build
    failed=0
    for t in "${TARGETS[@]}"; do replay "$t" || failed=1; done
    exit $failed
    ;;
  all)
    build
    failed=()
    for t in "${TARGETS[@]}"; do run "$t" || failed+=("$t"); done
    if [ ${#failed[@]} -gt 0 ]; then
      echo "fuzz: FAILED targets: ${failed[*]}" >&2
      exit 1
    fi
    ;;
  *)
    printf '%s\n' "${TARGETS[@]}" | grep -qx "$target" || { echo "unknown target $target; targets: ${TARGETS[*]}" >&2; exit 2; }
    build "$target"
    run "$target"
    ;;
esac
