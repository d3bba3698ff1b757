#!/usr/bin/env bash
# The 1,000-source aggregation benchmark (issue 3): a full `wirefeed build`
# of ../shared/tools/bench's corpus_typical (1,000 feeds of ~100 KB) served
# by a loopback nginx, against baseline_aggregate.py (Python feedparser +
# aiohttp + feedgen) on the same sources, alternating, N rounds; prints
# wall time and peak RSS of each, and their medians.
#
#   benches/aggregate.sh [ROUNDS]        (default 3)
#
# Needs: nginx (Debian nginx-light), python3 with feedparser feedgen aiohttp,
# and the corpus (generated on first use into $WIREFEED_BENCH_DATA, default
# /tmp/benchdata, about 230 MB and 11 s).
set -euo pipefail
ROUNDS=${1:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${WIREFEED_SHARED:-$ROOT/../shared}/tools/bench
DATA=${WIREFEED_BENCH_DATA:-/tmp/benchdata}
W=$(mktemp -d /tmp/wirefeed-aggbench.XXXXXX)
PORT=${PORT:-18080}
[ -d "$DATA/corpus_typical" ] || python3 "$B/gen_feeds.py" --standard "$DATA"
chmod a+rx "$DATA" "$DATA/corpus_typical"
(cd "$ROOT" && cargo build --release --quiet)
WF=$ROOT/target/release/wirefeed
PID=$(URLS_OUT=$W/urls.txt SERVE_MAX_SECONDS=1800 "$B/serve_corpus.sh" "$DATA/corpus_typical" "$PORT")
trap 'kill $PID 2>/dev/null; rm -rf "$W"' EXIT
python3 "$B/sources_toml.py" "$W/urls.txt" --topics > "$W/wirefeed.toml"

measure() { # label, then the command; prints "label seconds kB"
  local label=$1; shift
  /usr/bin/time -f '%e %M' -o "$W/t" "$@" > /dev/null 2> "$W/err" || { cat "$W/err" >&2; exit 1; }
  echo "$label $(cat "$W/t")"
}
for i in $(seq "$ROUNDS"); do
  rm -rf "$W/run" && mkdir -p "$W/run/home" && cp "$W/wirefeed.toml" "$W/run/"
  (cd "$W/run" && HOME=$W/run/home measure wirefeed "$WF" build -q --config wirefeed.toml)
  (cd "$W/run" && HOME=$W/run/home measure wirefeed-warm "$WF" build -q --config wirefeed.toml)
  rm -rf "$W/bl"
  measure baseline python3 "$B/baseline_aggregate.py" "$W/urls.txt" "$W/bl" --topics
done | tee "$W/results"
echo "medians (s, peak kB):"
for label in wirefeed wirefeed-warm baseline; do
  awk -v l="$label" '$1==l {print $2, $3}' "$W/results" | sort -n | awk -v l="$label" '{t[NR]=$1; m[NR]=$2} END {print "  " l, t[int((NR+1)/2)], m[int((NR+1)/2)]}'
done
