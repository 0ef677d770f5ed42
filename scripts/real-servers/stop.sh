#!/usr/bin/env bash
# Stops what start.sh started (by the pids it recorded) and deletes the run dir with the servers' data.
# Idempotent: nothing running is fine. Logs are kept when PE_REAL_KEEP_LOGS=1 (CI prints them on failure).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=common.sh
source "$here/common.sh"

run="$PE_REAL_RUN_DIR"

stop_one() {
  local name=$1 pidfile="$run/$1.pid" pid i
  if ! pe_pid_alive "$pidfile"; then
    rm -f "$pidfile"
    return
  fi
  pid=$(cat "$pidfile")
  kill -TERM "$pid" 2>/dev/null
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

stop_one minio
stop_one elasticmq
if [[ "${PE_REAL_KEEP_LOGS:-0}" == 1 ]]; then
  rm -rf "$run/minio-data" "$run/env.sh"
else
  rm -rf "$run"
fi
