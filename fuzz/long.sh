#!/usr/bin/env bash
# Long fuzz runs on a shared machine: one target at a time (one core), at
# nice 19 (idle CPU only), in wall-clock slices of SLICE seconds, always
# picking next the target that has had the least CPU so far (by the
# ledger), so every target gets a fair share of whatever CPU is idle.
# Runs until the file $FUZZ_OUT/STOP exists, or until UNTIL (epoch seconds).
# To use both cores, start two instances on disjoint TARGET lists with the
# same FUZZ_OUT: they share the ledger (one appended line per slice).
#
#   FUZZ_CORPUS=/work/fuzz-corpus FUZZ_OUT=/work/fuzz-logs fuzz/long.sh [SLICE] [UNTIL] [TARGET...]
#
# Binaries: $FUZZ_BIN/TARGET (default the build in fuzz/target; copy them
# elsewhere to keep fuzzing one build while rebuilding). Corpus:
# $FUZZ_CORPUS/TARGET (seeded by seeds.py when missing).
#
# The ledger, $FUZZ_OUT/ledger.tsv, has one line per slice: the CPU
# seconds (user + system, from /usr/bin/time: a nice'd fuzzer gets less
# CPU than wall time, so wall time overstates the work), wall seconds,
# executions, libFuzzer's final cov and ft, the corpus files, the exit
# status. A failing input lands in $FUZZ_OUT/artifacts/TARGET/; the slice's
# log in $FUZZ_OUT/TARGET.N.log. A failing target is set aside (not run
# again) until its failure is looked at; the others carry on.
#
# FUZZ_TIMEOUT (default 120 s) is libFuzzer's, on the wall clock: at nice
# 19 on a loaded machine a fuzzer can get no CPU for minutes, so a
# "timeout" must be replayed alone before it is believed (one in wire,
# 2026-11-30, took 0.06 s of CPU replayed).
set -uo pipefail
cd "$(dirname "$0")/.."
slice=${1:-420}
until_epoch=${2:-0}
shift 2 2>/dev/null || shift $#
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(feed sanitize wire markdown opml config query serve_path)
: "${FUZZ_CORPUS:?set FUZZ_CORPUS (the corpus root, outside the repository)}"
OUT=${FUZZ_OUT:?set FUZZ_OUT (logs, ledger, artifacts)}
BIN=${FUZZ_BIN:-fuzz/target/x86_64-unknown-linux-gnu/release}
ledger=$OUT/ledger.tsv
mkdir -p "$OUT"
[ -f "$ledger" ] || printf 'utc\ttarget\tcpu_s\twall_s\texecs\tcov\tft\tcorpus_files\tstatus\n' >"$ledger"
export FUZZ_CORPUS

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

# The target with the least CPU in the ledger, among those not set aside.
next_target() {
  local t best='' best_cpu=''
  for t in "${TARGETS[@]}"; do
    [ -e "$OUT/failed.$t" ] && continue
    local cpu
    cpu=$(awk -F'\t' -v t="$t" '$2 == t { s += $3 } END { printf "%d", s }' "$ledger")
    if [ -z "$best" ] || [ "$cpu" -lt "$best_cpu" ]; then best=$t best_cpu=$cpu; fi
  done
  echo "$best"
}

n=0
while [ ! -e "$OUT/STOP" ]; do
  now=$(date +%s)
  if [ "$until_epoch" -gt 0 ] && [ "$now" -ge "$until_epoch" ]; then break; fi
  t=$(next_target)
  [ -n "$t" ] || { echo "long: every target set aside"; break; }
  this_slice=$slice
  if [ "$until_epoch" -gt 0 ] && [ $((until_epoch - now)) -lt "$this_slice" ]; then this_slice=$((until_epoch - now)); fi
  [ -d "$FUZZ_CORPUS/$t" ] || python3 fuzz/seeds.py "$t"
  n=$((n + 1))
  # Named by the start time and this script's pid, so that two instances
  # (one per core, on disjoint targets) and later sessions never overwrite
  # each other's logs.
  stamp=$(date -u +%Y%m%dT%H%M%S).$$
  log=$OUT/$t.$stamp.log times=$OUT/$t.$stamp.time
  mkdir -p "$OUT/artifacts/$t"
  echo "long: $(date -u +%H:%M:%S) $t for ${this_slice}s (log $log)"
  nice -n 19 /usr/bin/time -f '%U %S %e' -o "$times" "$BIN/$t" "$FUZZ_CORPUS/$t" \
    -dict="$(dict_of "$t")" -max_total_time="$this_slice" -timeout="${FUZZ_TIMEOUT:-120}" \
    -rss_limit_mb="${FUZZ_RSS_MB:-2048}" -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$OUT/artifacts/$t/" >"$log" 2>&1 &
  echo $! >"$OUT/current.$$.pid"
  wait $!
  status=$?
  rm -f "$OUT/current.$$.pid"
  # /usr/bin/time writes "Command exited with non-zero status N" first
  # when the fuzzer fails; the figures are the last line.
  read -r user sys wall < <(tail -n 1 "$times")
  cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.1f", u + s }')
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  last=$(grep -E '^#[0-9]+[[:space:]]+(DONE|INITED|REDUCE|NEW|pulse)' "$log" | tail -n 1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  files=$(find "$FUZZ_CORPUS/$t" -type f | wc -l)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "$cpu" "$wall" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$files" "$status" >>"$ledger"
  if [ "$status" -ne 0 ] && [ ! -e "$OUT/STOP" ]; then
    echo "long: $t FAILED (status $status), set aside; see $log and $OUT/artifacts/$t/" >&2
    touch "$OUT/failed.$t"
  fi
done
echo "long: stopped at $(date -u +%H:%M:%S)"
