#!/usr/bin/env bash
# The overhead of ondeck's `pg_backup` (sha256 as the dump streams, fsync, rename, row counts,
# manifest) over plain `pg_dump -Fc` to a file, side by side in one run: a generated database of
# at least 1 GB, each way dumped ROUNDS times, alternating which goes first, the median of each.
#
#   ONDECK_BENCH_PG_URL=postgres://postgres@127.0.0.1:55432/postgres scripts/bench-backup.sh
#
# The URL is an account that may create and drop databases (default: $ONDECK_TEST_PG_URL). The
# database (about 1.1 GB) and one dump at a time (about 0.6 GB) live only for the run: under
# 2 GB of disk, all removed at the end. Not part of the test run: it takes about ten minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

url=${ONDECK_BENCH_PG_URL:-${ONDECK_TEST_PG_URL:?set ONDECK_BENCH_PG_URL (or ONDECK_TEST_PG_URL) to a PostgreSQL account that may create databases}}
rounds=${ROUNDS:-3}
# Rows of two 32-character hex strings: about 1.1 GB on disk with the index, compressing about
# two to one, so that the dump is as much hashing work as a real one.
rows=${ROWS:-8000000}
database=ondeck_bench_$$
work=$(mktemp -d -t ondeck-bench.XXXXXX)
db_url=$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$url" "$database")

cleanup() {
  psql "$url" -qc "DROP DATABASE IF EXISTS $database" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --release --quiet --bin ondeck
ondeck=$PWD/target/release/ondeck

echo "generating $rows rows in $database…"
psql "$url" -qc "CREATE DATABASE $database"
psql "$db_url" -q <<SQL
CREATE TABLE events (id bigint PRIMARY KEY, a text NOT NULL, b text NOT NULL, at timestamptz NOT NULL);
INSERT INTO events
  SELECT g, md5(random()::text), md5(g::text || random()::text), now() - g * interval '1 second'
  FROM generate_series(1, $rows) g;
VACUUM ANALYZE events;
SQL
size=$(psql "$db_url" -qtAc "SELECT pg_database_size(current_database())")
echo "database size: $((size / 1024 / 1024)) MiB"
if ((size < 1000 * 1000 * 1000)); then
  echo "the database is under 1 GB: raise ROWS" >&2
  exit 1
fi

cat >"$work/config.toml" <<TOML
[store]
url = "sqlite://$work/ondeck.db"

[[action]]
name = "bench-backup"
kind = "pg_backup"
database = "env:BENCH_DB_URL"
dir = "$work/backups"
TOML

plain() {
  pg_dump --format=custom --no-password --file="$work/plain.dump" --dbname="$db_url"
  sync -f "$work"
  stat -c %s "$work/plain.dump" >"$work/plain.size"
  rm -f "$work/plain.dump"
}

with_ondeck() {
  BENCH_DB_URL=$db_url XDG_STATE_HOME=$work XDG_DATA_HOME=$work \
    "$ondeck" --config "$work/config.toml" run bench-backup --target "$database" --yes >"$work/ondeck.log"
  rm -rf "$work/backups"
}

# Wall-clock seconds of one run of "$@".
seconds() {
  local start end
  start=$(date +%s.%N)
  "$@"
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}

plain_times=()
ondeck_times=()
for round in $(seq "$rounds"); do
  if ((round % 2)); then
    plain_times+=("$(seconds plain)")
    ondeck_times+=("$(seconds with_ondeck)")
  else
    ondeck_times+=("$(seconds with_ondeck)")
    plain_times+=("$(seconds plain)")
  fi
  printf 'round %d: pg_dump -Fc %.2f s, ondeck pg_backup %.2f s\n' \
    "$round" "${plain_times[-1]}" "${ondeck_times[-1]}"
done

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
plain_median=$(median "${plain_times[@]}")
ondeck_median=$(median "${ondeck_times[@]}")
printf 'dump size %d MiB; median of %d: pg_dump -Fc %.2f s, ondeck pg_backup %.2f s, overhead %+.1f %%\n' \
  "$(($(cat "$work/plain.size") / 1024 / 1024))" "$rounds" "$plain_median" "$ondeck_median" \
  "$(echo "($ondeck_median / $plain_median - 1) * 100" | bc -l)"
