#!/usr/bin/env bash
# Stops what start.sh started (by the pids it recorded) and deletes the run dir with the servers' data.
# Idempotent: nothing running is fine. PE_REAL_KEEP_LOGS=1 keeps the logs (run-tests.sh prints their tails on failure).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=common.sh
source "$here/common.sh"

run="$PE_REAL_RUN_DIR"

# Both get SIGTERM first, then each is waited for, so their shutdowns overlap.
signal_one() {
  local pidfile="$run/$1.pid"
  if pe_pid_alive "$pidfile"; then kill -TERM "$(cat "$pidfile")" 2>/dev/null; fi
}

wait_one() {
  local name=$1 pidfile="$run/$1.pid" pid i
  if [[ ! -s "$pidfile" ]]; then return; fi
  pid=$(cat "$pidfile")
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    pe_log "$name (pid $pid) ignored SIGTERM for 10s; killing it"
    kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$pidfile"
  pe_log "$name stopped (pid $pid)"
}

signal_one minio
signal_one elasticmq
signal_one moto
wait_one minio
wait_one elasticmq
wait_one moto
if [[ "${PE_REAL_KEEP_LOGS:-0}" == 1 ]]; then
  rm -rf "$run/minio-data" "$run/elasticmq-data" "$run/env.sh"
else
  rm -rf "$run"
fi
