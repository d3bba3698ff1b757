#!/usr/bin/env bash
# The warm-build benchmark (issue 4): a `wirefeed build` in which all 1,000
# loopback sources answer 304, against `curl --parallel --parallel-max 64`
# sending the same 1,000 conditional requests, alternating, N rounds, in the
# same run. Also checks that the warm builds write no file into feeds/.
#
#   benches/warm.sh [ROUNDS]        (default 7)
#
# Needs: nginx (Debian nginx-light), curl, and the corpus (generated on first
# use into $WIREFEED_BENCH_DATA, default /tmp/benchdata).
set -euo pipefail
ROUNDS=${1:-7}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${WIREFEED_SHARED:-$ROOT/../shared}/tools/bench
DATA=${WIREFEED_BENCH_DATA:-/tmp/benchdata}
W=$(mktemp -d /tmp/wirefeed-warmbench.XXXXXX)
PORT=${PORT:-18081}
[ -d "$DATA/corpus_typical" ] || python3 "$B/gen_feeds.py" --standard "$DATA"
chmod a+rx "$DATA" "$DATA/corpus_typical"
(cd "$ROOT" && cargo build --release --quiet)
WF=${CARGO_TARGET_DIR:-$ROOT/target}/release/wirefeed
PID=$(URLS_OUT=$W/urls.txt SERVE_MAX_SECONDS=1800 "$B/serve_corpus.sh" "$DATA/corpus_typical" "$PORT")
trap 'kill $PID 2>/dev/null; rm -rf "$W"' EXIT
mkdir -p "$W/run"
python3 "$B/sources_toml.py" "$W/urls.txt" --topics > "$W/run/wirefeed.toml"

# curl's request list: one conditional GET per source, each with its own
# If-None-Match (`next` keeps headers from piling up across URLs).
while read -r url; do
  etag=$(curl -sI "$url" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag" {print $2}')
  printf 'url = "%s"\nheader = "If-None-Match: %s"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\nnext\n' "$url" "${etag//\"/\\\"}"
done < "$W/urls.txt" | head -n -1 > "$W/curl.cfg"

(cd "$W/run" && "$WF" build -q --config wirefeed.toml) # cold: fills the store
touch -d '2020-01-01' "$W/marker"
find "$W/run/feeds" -type f -exec touch -d '2019-01-01' {} +

ms() { python3 -c "import sys; print(round((float(sys.argv[2]) - float(sys.argv[1])) * 1000, 1))" "$@"; }
for i in $(seq "$ROUNDS"); do
  t0=$(date +%s.%N); curl -s --parallel --parallel-max 64 -K "$W/curl.cfg" > "$W/codes" 2>/dev/null; t1=$(date +%s.%N)
  [ "$(grep -c '^304$' "$W/codes")" = 1000 ] || { echo "curl: not all 304" >&2; exit 1; }
  echo "curl $(ms "$t0" "$t1")"
  t0=$(date +%s.%N); (cd "$W/run" && "$WF" build -q --config wirefeed.toml); t1=$(date +%s.%N)
  echo "wirefeed-warm $(ms "$t0" "$t1")"
done | tee "$W/results"
# sources.html shows each source's last and next fetch, so a build that
# fetched rewrites it; every other file must stay as it was.
written=$(find "$W/run/feeds" -type f -newer "$W/marker" ! -name sources.html | wc -l)
echo "files written into feeds/ by the warm builds: $written"
echo "medians (ms):"
for label in curl wirefeed-warm; do
  awk -v l="$label" '$1==l {print $2}' "$W/results" | sort -n | awk -v l="$label" '{t[NR]=$1} END {print "  " l, t[int((NR+1)/2)]}'
done
[ "$written" = 0 ]
