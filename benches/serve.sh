#!/usr/bin/env bash
# `wirefeed serve` against nginx on the same feed file, in the same run:
# wrk plain GETs (200, full body) and conditional GETs (304).
#
#   benches/serve.sh [ROUNDS]        # default 1 round; medians when more
#
# The file is the 96.5 KB typical_rss.xml of
# `python3 ../shared/tools/bench/gen_feeds.py --standard /tmp/benchdata`
# (generated when missing), served as feed.rss by both. nginx is started
# by ../shared/tools/bench/serve_corpus.sh (1 worker, sendfile,
# open_file_cache, ETag on). Needs: nginx, wrk, curl. Each wrk run is
# `wrk -t2 -c64 -d5s`; WRK_DURATION overrides the 5s.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-1}
SHARED=${WIREFEED_SHARED:-$(cd .. && pwd)/shared}
DATA=${BENCHDATA:-/tmp/benchdata}
DURATION=${WRK_DURATION:-5s}
WF_PORT=${WF_PORT:-18481}
NGINX_PORT=${NGINX_PORT:-18482}
command -v wrk >/dev/null || { echo "wrk not found (apt-get install -y wrk)" >&2; exit 1; }

[ -f "$DATA/typical_rss.xml" ] || python3 "$SHARED/tools/bench/gen_feeds.py" --standard "$DATA" >&2
cargo build --release --quiet
BIN=${CARGO_TARGET_DIR:-target}/release/wirefeed

WORK=$(mktemp -d "${TMPDIR:-/tmp}/wirefeed-serve-bench.XXXXXX")
chmod 755 "$WORK"   # nginx workers run as nobody
mkdir -m 755 "$WORK/feeds"
cp "$DATA/typical_rss.xml" "$WORK/feeds/feed.rss"
chmod 644 "$WORK/feeds/feed.rss"
cat >"$WORK/wirefeed.toml" <<EOF
[publish]
title = "bench"
base_url = "http://127.0.0.1:$WF_PORT/"
output_dir = "feeds"
[serve]
max_age = "5m"
EOF

WF_PID="" NGINX_PID=""
cleanup() {
  [ -n "$WF_PID" ] && kill "$WF_PID" 2>/dev/null && wait "$WF_PID" 2>/dev/null
  [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN" serve -q --config "$WORK/wirefeed.toml" --addr "127.0.0.1:$WF_PORT" &
WF_PID=$!
NGINX_PID=$(SERVE_MAX_SECONDS=900 "$SHARED/tools/bench/serve_corpus.sh" "$WORK/feeds" "$NGINX_PORT" 2>/dev/null)
for _ in $(seq 100); do
  curl -sf -o /dev/null "http://127.0.0.1:$WF_PORT/feed.rss" && break
  sleep 0.1
done

etag() { curl -sfI "$1" | tr -d '\r' | awk 'tolower($1) == "etag:" {print $2}'; }
rps() {   # URL [If-None-Match]
  local args=(-t2 -c64 -d"$DURATION")
  [ -n "${2:-}" ] && args+=(-H "If-None-Match: $2")
  local out status
  out=$(wrk "${args[@]}" "$1")
  # wrk counts anything but 2xx/3xx as errors: a run with errors is no figure.
  if grep -q "Non-2xx or 3xx" <<<"$out"; then echo "wrk saw error answers from $1:" >&2; echo "$out" >&2; exit 1; fi
  awk '/Requests\/sec/ {printf "%d", $2}' <<<"$out"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2] + a[NR/2+1]) / 2)}'; }

WF_URL="http://127.0.0.1:$WF_PORT/feed.rss"
NGINX_URL="http://127.0.0.1:$NGINX_PORT/feed.rss"
WF_ETAG=$(etag "$WF_URL")
NGINX_ETAG=$(etag "$NGINX_URL")
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $WF_ETAG" "$WF_URL")" = 304 ] || { echo "wirefeed gave no 304" >&2; exit 1; }
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $NGINX_ETAG" "$NGINX_URL")" = 304 ] || { echo "nginx gave no 304" >&2; exit 1; }

declare -A R
for _ in $(seq "$ROUNDS"); do
  # Alternate servers so that neither always runs on a warmer machine.
  R[nginx_200]+="$(rps "$NGINX_URL") "
  R[wf_200]+="$(rps "$WF_URL") "
  R[nginx_304]+="$(rps "$NGINX_URL" "$NGINX_ETAG") "
  R[wf_304]+="$(rps "$WF_URL" "$WF_ETAG") "
done
m() { tr ' ' '\n' <<<"${R[$1]}" | grep . | median; }
printf '%-28s %12s %12s %8s\n' "$(basename "$DATA")/typical_rss.xml" "nginx req/s" "serve req/s" "ratio"
for kind in 200 304; do
  n=$(m "nginx_$kind") w=$(m "wf_$kind")
  label=$([ "$kind" = 200 ] && echo "plain GET (200, 96.5 KB)" || echo "If-None-Match (304)")
  printf '%-28s %12d %12d %7s\n' "$label" "$n" "$w" "$(awk -v w="$w" -v n="$n" 'BEGIN {printf "%.0f%%", 100 * w / n}')"
done
echo "(wrk -t2 -c64 -d$DURATION, $ROUNDS round(s), medians; $(nproc) cores)"
