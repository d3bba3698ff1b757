#!/usr/bin/env bash
# The fleet benchmark (issue 13): `wirefeed run` workers on one PostgreSQL
# store, fetching 10,000 loopback sources of ~10 KB whose servers answer
# after 100 ms, with 1, 2 and 4 workers, each `[fetch] concurrency = 16`:
# the fleet's fetches per second in the steady state.
#
#   benches/fleet.sh [WINDOW_SECONDS]        (default 30)
#
# What it does:
# 1. Starts a private PostgreSQL (Debian `postgresql`; as root its programs
#    run as the `postgres` user) on 127.0.0.1 with its default, durable
#    settings (fsync on), and `examples/feed_farm` with 100 hosts (ports)
#    of 100 sources each: the fleet spreads over hosts, and `per_host = 16`
#    does not bind.
# 2. Seeds the store: 4 workers fetch every source once (100,000 stories
#    stored), timed: the cold round.
# 3. For 1, 2 and 4 workers: every source is due every second (`interval
#    = "1s"`), so the fleet fetches as fast as it can; after 10 s of
#    warm-up, counts the farm's requests over WINDOW seconds, and the CPU
#    the workers and PostgreSQL used meanwhile (from /proc).
# 4. The all-304 rebuild of 1,000 sources on PostgreSQL against `curl
#    --parallel` (benches/warm.sh with WIREFEED_STORE_URL), when nginx is
#    there.
#
# PG_OPTS adds server settings (e.g. "-c synchronous_commit=off");
# SKIP_WARM=1 skips step 4. Needs: postgresql, curl (and nginx for step 4). Network traffic stays on
# 127.0.0.1. Takes about 4 minutes with the default window.
set -euo pipefail
WINDOW=${1:-30}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
FARM_PORT=${FARM_PORT:-19100}
HOSTS=${HOSTS:-100} PER_HOST=100 DELAY_MS=100
W=$(mktemp -d /tmp/wirefeed-fleetbench.XXXXXX)
chmod 755 "$W"

(cd "$ROOT" && cargo build --release --quiet && cargo build --release --quiet --example feed_farm)
WF=$TARGET/release/wirefeed
FARM=$TARGET/release/examples/feed_farm

PIDS=()
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  as_pg "$PGBIN/pg_ctl" -D "$W/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$W"
}
trap cleanup EXIT

mkdir -p "$W/pg"
[ "$(id -u)" = 0 ] && chown postgres: "$W/pg"
PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg "$PGBIN/initdb" -D "$W/pg/data" -U wirefeed --auth=trust -E UTF8 --no-locale >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$W/pg/data" -l "$W/pg/log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $W/pg -c max_connections=200 ${PG_OPTS:-}" start >/dev/null
PG=postgres://wirefeed@127.0.0.1:$PG_PORT
psql() { "$PGBIN/psql" -qAt "$PG/$1" -c "$2"; }
psql postgres "CREATE DATABASE fleet" && psql postgres "CREATE DATABASE warm"

"$FARM" "$FARM_PORT" "$HOSTS" "$DELAY_MS" >"$W/farm.out" &
PIDS+=($!)
for _ in $(seq 100); do grep -q ready "$W/farm.out" 2>/dev/null && break; sleep 0.1; done
count() { curl -sf "http://127.0.0.1:$FARM_PORT/_count"; }

# Config: every source due every second, no jitter.
mkdir -p "$W/site"
{
  printf '[publish]\ntitle = "fleet bench"\nbase_url = "http://127.0.0.1:8080/"\noutput_dir = "feeds"\n'
  printf '[store]\nurl = "%s/fleet"\n' "$PG"
  printf '[run]\ninterval = "1s"\njitter = 0\n'
  printf '[fetch]\nconcurrency = 16\nper_host = 16\n'
  for h in $(seq 0 $((HOSTS - 1))); do
    for i in $(seq 0 $((PER_HOST - 1))); do
      printf '[[sources]]\nname = "s%d-%d"\nurl = "http://127.0.0.1:%d/f%d-%d"\n' "$h" "$i" $((FARM_PORT + h)) "$h" "$i"
    done
  done
} >"$W/site/wirefeed.toml"
SOURCES=$((HOSTS * PER_HOST))

cpu_of() {   # PID... -> CPU seconds (user + system) so far, summed
  local t=0 p
  for p in "$@"; do
    [ -r "/proc/$p/stat" ] || continue
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  awk -v t="$t" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}
pg_pids() { pgrep -u postgres -f "postgres" 2>/dev/null || pgrep -f "$W/pg" || true; }

start_workers() {   # N -> WORKERS
  WORKERS=()
  for _ in $(seq "$1"); do
    "$WF" -q run --config "$W/site/wirefeed.toml" >>"$W/workers.log" 2>&1 &
    WORKERS+=($!)
    PIDS+=($!)
  done
}
stop_workers() {
  kill -TERM "${WORKERS[@]}" 2>/dev/null || true
  wait "${WORKERS[@]}" 2>/dev/null || true
}

echo "# fleet: $SOURCES sources on $HOSTS loopback hosts, ${DELAY_MS} ms per answer, concurrency 16 per worker"
# 1. The cold round.
start_workers 4
t0=$(date +%s.%N)
done_sources() { psql fleet "SELECT count(*) FROM sources WHERE last_fetch IS NOT NULL" 2>/dev/null || echo 0; }
until [ "$(done_sources)" = "$SOURCES" ]; do sleep 0.5; done
t1=$(date +%s.%N)
stop_workers
stories=$(psql fleet "SELECT count(*) FROM stories")
awk -v a="$t0" -v b="$t1" -v n="$SOURCES" -v s="$stories" \
  'BEGIN { printf "cold round, 4 workers: %d sources in %.1f s (%.0f fetches/s), %d stories stored (%.0f stories/s)\n", n, b - a, n / (b - a), s, s / (b - a) }'

# 2. The steady state per fleet size.
printf '\n| workers | fetches/s | x one worker | worker CPU s per 1,000 fetches | PostgreSQL CPU s per 1,000 fetches |\n|---:|---:|---:|---:|---:|\n'
one=""
for n in 1 2 4; do
  start_workers "$n"
  sleep 10
  c0=$(count) w0=$(cpu_of "${WORKERS[@]}") p0=$(cpu_of $(pg_pids)) t0=$(date +%s.%N)
  sleep "$WINDOW"
  c1=$(count) w1=$(cpu_of "${WORKERS[@]}") p1=$(cpu_of $(pg_pids)) t1=$(date +%s.%N)
  stop_workers
  rate=$(awk -v a="$c0" -v b="$c1" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.1f", (b - a) / (e - s) }')
  [ -n "$one" ] || one=$rate
  awk -v n="$n" -v r="$rate" -v o="$one" -v f=$((c1 - c0)) -v w="$(awk -v a="$w0" -v b="$w1" 'BEGIN{print b-a}')" \
    -v p="$(awk -v a="$p0" -v b="$p1" 'BEGIN{print b-a}')" \
    'BEGIN { printf "| %d | %.0f | %.2f | %.2f | %.2f |\n", n, r, r / o, 1000 * w / f, 1000 * p / f }'
done

# 3. The all-304 rebuild on PostgreSQL, against curl --parallel.
if [ -n "${SKIP_WARM:-}" ]; then
  echo "all-304 rebuild on PostgreSQL: skipped (SKIP_WARM)"
elif command -v nginx >/dev/null; then
  echo
  echo "# all-304 rebuild of 1,000 sources, store on PostgreSQL (benches/warm.sh 5)"
  WIREFEED_STORE_URL="$PG/warm" "$ROOT/benches/warm.sh" 5
else
  echo "all-304 rebuild on PostgreSQL: NOT RUN (nginx not installed)"
fi
