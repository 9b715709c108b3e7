#!/usr/bin/env bash
# The console's memory with a large fleet: 10,000 hosts from one PostgreSQL named query (agents
# with heartbeats, as the certificate hub's `devices`), polled every 5 s, the console at 200×50
# in tmux for 30 s; prints its peak and current RSS from /proc, ROUNDS times.
#
#   ONDECK_BENCH_PG_URL=postgres://postgres@127.0.0.1:55432/postgres scripts/bench-pg-fleet.sh
#
# The URL is an account that may create and drop databases (default: $ONDECK_TEST_PG_URL); the
# database and the console's HOME live only for the run. Needs tmux. Not part of the test run.
set -euo pipefail
cd "$(dirname "$0")/.."

url=${ONDECK_BENCH_PG_URL:-${ONDECK_TEST_PG_URL:?set ONDECK_BENCH_PG_URL (or ONDECK_TEST_PG_URL) to a PostgreSQL account that may create databases}}
rounds=${ROUNDS:-3}
hosts=10000
database=ondeck_fleet_$$
socket=ondeck-fleet-$$
work=$(mktemp -d -t ondeck-fleet.XXXXXX)
db_url=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$url" "$database")

cleanup() {
  tmux -L "$socket" kill-server >/dev/null 2>&1 || true
  psql "$url" -qc "DROP DATABASE IF EXISTS $database" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --release --quiet --bin ondeck
ondeck=$PWD/target/release/ondeck

psql "$url" -qc "CREATE DATABASE $database"
psql "$db_url" -q <<SQL
CREATE TABLE devices (hostname text, agent_version text, last_heartbeat_at timestamptz,
                      domain text, os_version text);
INSERT INTO devices
  SELECT format('PC-%s', lpad(i::text, 5, '0')), '1.0.' || (i % 7),
         now() - (i % 900) * interval '1 second', 'EXAMPLE', 'Windows 11'
  FROM generate_series(1, $hosts) i;
SQL
cat >"$work/fleet.toml" <<TOML
[[source]]
name = "fleet"
kind = "postgres"
url = "env:ONDECK_FLEET_URL"
every = "5s"
timeout = "5s"

[[source.query]]
name = "devices"
maps_to = "hosts"
down_after = "10m"
max_rows = $hosts
sql = "SELECT hostname, 'windows-agent' AS kind, agent_version, last_heartbeat_at, domain, os_version FROM devices ORDER BY hostname"
columns = { name = "hostname", version = "agent_version", last_seen = "last_heartbeat_at" }
TOML

for round in $(seq "$rounds"); do
  home=$(mktemp -d -p "$work")
  tmux -L "$socket" new-session -d -x 200 -y 50 \
    "exec env HOME=$home ONDECK_FLEET_URL=$db_url $ondeck --config $work/fleet.toml"
  sleep 2
  pid=$(tmux -L "$socket" list-panes -F '#{pane_pid}')
  sleep 30
  shown=$(tmux -L "$socket" capture-pane -p | grep -o "Hosts [0-9/]*" | head -1)
  rss=$(awk '/^VmHWM:/ {peak = $2 / 1024} /^VmRSS:/ {now = $2 / 1024}
             END {printf "peak RSS %.1f MiB, RSS after 30 s %.1f MiB", peak, now}' "/proc/$pid/status")
  echo "round $round: $shown; $rss"
  tmux -L "$socket" send-keys q
  sleep 1
  tmux -L "$socket" kill-server >/dev/null 2>&1 || true
done
