#!/usr/bin/env bash
# Starts MinIO, ElasticMQ and moto (S3 + SNS + SQS, for the progress channel's notices) on loopback with a fresh temporary data dir and fixed credentials, waits until
# both answer, and writes the variables that point the app (and the test harness's "external" mode) at them
# to $PE_REAL_RUN_DIR/env.sh. Idempotent: servers already running from an earlier start are kept.
# Stop them with stop.sh (run-tests.sh does so on exit, even on failure).
#
#   start.sh            both servers, fresh data dirs
#   start.sh minio      (re)start only MinIO on the same port and data dir, e.g. after the chaos suite killed it
#   start.sh elasticmq  the same for ElasticMQ; its queues and messages are on disk, so they survive
#   start.sh moto       only moto (in memory: a restart forgets everything)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=common.sh
source "$here/common.sh"

run="$PE_REAL_RUN_DIR"
mkdir -p "$run"

# A port answered by something that is not ours would make the tests talk to the wrong server.
port_taken() { (exec 3<>"/dev/tcp/$PE_REAL_HOST/$1") 2>/dev/null; }

# already_running NAME LABEL → true (and says so) when the server of an earlier start is still up.
already_running() {
  local name=$1 label=$2
  pe_pid_alive "$run/$name.pid" || return 1
  pe_log "$label already running (pid $(cat "$run/$name.pid"))"
}

# require_free_port PORT VAR → exits when PORT is taken, naming the variable that moves it.
require_free_port() {
  local port=$1 var=$2
  if port_taken "$port"; then
    pe_log "port $port is in use by another process; set $var"
    exit 1
  fi
}

# Detached from the caller's process group, so a Ctrl-C in the terminal reaches the test run first and the
# servers are then stopped by stop.sh in order.
launch() {
  local name=$1 log=$2
  shift 2
  # A restart appends, so the log still shows how the server went down.
  [[ "$mode" == all ]] && : >"$log"
  if command -v setsid >/dev/null; then
    setsid "$@" >>"$log" 2>&1 </dev/null &
  else
    nohup "$@" >>"$log" 2>&1 </dev/null &
  fi
  echo $! >"$run/$name.pid"
}

# wait_ready NAME URL → the server answers, or it died / timed out (its log tail is printed).
wait_ready() {
  local name=$1 url=$2
  local i
  for ((i = 0; i < 300; i++)); do
    if ! pe_pid_alive "$run/$name.pid"; then
      pe_log "$name exited during start-up; last log lines:"
      tail -n 30 "$run/$name.log" >&2 || true
      return 1
    fi
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)
    if [[ "$code" =~ ^[1-4][0-9][0-9]$ ]]; then return 0; fi
    sleep 0.2
  done
  pe_log "$name did not answer on $url within 60s; last log lines:"
  tail -n 30 "$run/$name.log" >&2 || true
  return 1
}

# fresh_data DIR → an empty DIR on a full start; kept as it is when one server is restarted.
fresh_data() {
  if [[ "$mode" == all ]]; then rm -rf "$1"; fi
  mkdir -p "$1"
}

start_minio() {
  already_running minio MinIO && return
  [[ -x "$PE_MINIO_BIN" ]] || { pe_log "MinIO is not installed: run scripts/real-servers/install.sh"; exit 1; }
  require_free_port "$PE_MINIO_PORT" PE_MINIO_PORT
  fresh_data "$run/minio-data"
  # Console off (not needed, saves memory); no update checks or telemetry from CI.
  launch minio "$run/minio.log" env MINIO_ROOT_USER="$PE_MINIO_USER" MINIO_ROOT_PASSWORD="$PE_MINIO_PASSWORD" \
    MINIO_BROWSER=off MINIO_UPDATE=off MINIO_CALLHOME_ENABLE=off \
    "$PE_MINIO_BIN" server --quiet --address "$PE_REAL_HOST:$PE_MINIO_PORT" \
    --console-address "$PE_REAL_HOST:$PE_MINIO_CONSOLE_PORT" "$run/minio-data"
  wait_ready minio "http://$PE_REAL_HOST:$PE_MINIO_PORT/minio/health/ready"
  pe_log "MinIO up on http://$PE_REAL_HOST:$PE_MINIO_PORT (pid $(cat "$run/minio.pid"))"
}

start_elasticmq() {
  already_running elasticmq ElasticMQ && return
  [[ -s "$PE_ELASTICMQ_CLASSPATH" ]] || { pe_log "ElasticMQ is not installed: run scripts/real-servers/install.sh"; exit 1; }
  require_free_port "$PE_ELASTICMQ_PORT" PE_ELASTICMQ_PORT
  # Queues are not declared here: the app's own bootstrap (BOOTSTRAP_RESOURCES) creates the jobs queue, the DLQ
  # and the redrive policy through the SQS API, so that path is exercised against a real server too.
  # Queues and messages are stored on disk, as a deployment would run it: in-memory ElasticMQ forgets its
  # queues and every job on a restart (SQS itself never does), which no application-side re-creation can repair
  # (the jobs are gone). The queue definitions go to a file, the messages with their receive counts to H2.
  fresh_data "$run/elasticmq-data"
  cat >"$run/elasticmq.conf" <<CONF
include classpath("application.conf")
node-address {
  protocol = http
  host = "$PE_REAL_HOST"
  port = $PE_ELASTICMQ_PORT
  context-path = ""
}
rest-sqs {
  enabled = true
  bind-port = $PE_ELASTICMQ_PORT
  bind-hostname = "$PE_REAL_HOST"
  sqs-limits = strict
}
rest-stats {
  enabled = false
}
generate-node-address = false
aws {
  region = "us-east-1"
  accountId = "000000000000"
}
queues-storage {
  enabled = true
  path = "$run/elasticmq-data/queues.conf"
}
messages-storage {
  enabled = true
  driver-class = "org.h2.Driver"
  uri = "jdbc:h2:$run/elasticmq-data/messages"
  username = ""
  password = ""
  prune-data-on-init = false
}
CONF
  # Small heap and C1 only: a queue server for tests starts faster that way on 2 cores.
  launch elasticmq "$run/elasticmq.log" java -Xms32m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dconfig.file="$run/elasticmq.conf" -cp "$(cat "$PE_ELASTICMQ_CLASSPATH")" org.elasticmq.server.Main
  wait_ready elasticmq "http://$PE_REAL_HOST:$PE_ELASTICMQ_PORT/"
  pe_log "ElasticMQ up on http://$PE_REAL_HOST:$PE_ELASTICMQ_PORT (pid $(cat "$run/elasticmq.pid"))"
}

start_moto() {
  already_running moto moto && return
  [[ -x "$PE_MOTO_BIN" ]] || { pe_log "moto is not installed: run scripts/real-servers/install.sh moto"; exit 1; }
  require_free_port "$PE_MOTO_PORT" PE_MOTO_PORT
  launch moto "$run/moto.log" "$PE_MOTO_BIN" -H "$PE_REAL_HOST" -p "$PE_MOTO_PORT"
  wait_ready moto "http://$PE_REAL_HOST:$PE_MOTO_PORT/moto-api/"
  pe_log "moto up on http://$PE_REAL_HOST:$PE_MOTO_PORT (pid $(cat "$run/moto.pid"))"
}

mode="${1:-all}"
t0=$(pe_now)
case "$mode" in
all)
  start_minio
  start_elasticmq
  start_moto
  ;;
minio) start_minio ;;
elasticmq) start_elasticmq ;;
moto) start_moto ;;
*)
  pe_log "usage: start.sh [all|minio|elasticmq|moto]"
  exit 2
  ;;
esac

cat >"$run/env.sh" <<ENV
export S3_ENDPOINT=http://$PE_REAL_HOST:$PE_MINIO_PORT
export SQS_ENDPOINT=http://$PE_REAL_HOST:$PE_ELASTICMQ_PORT
export S3_REGION=us-east-1
export S3_BUCKET=photoenhance
export AWS_ACCESS_KEY_ID=$PE_MINIO_USER
export AWS_SECRET_ACCESS_KEY=$PE_MINIO_PASSWORD
export PE_REAL_SERVERS="minio@$PE_MINIO_VERSION elasticmq@$PE_ELASTICMQ_VERSION moto@$PE_MOTO_VERSION"
# S3 + SNS + SQS in one (moto): only test/real/progress-channel.test.ts talks to it.
export PE_MOTO_ENDPOINT=http://$PE_REAL_HOST:$PE_MOTO_PORT
ENV
# `go install` builds carry no release string (`minio --version` says DEVELOPMENT.GOGET): the module version
# and toolchain embedded in the binary say what actually runs.
minio_build=$("$PE_GO" version -m "$PE_MINIO_BIN" 2>/dev/null | awk 'NR == 1 { go = $2 } $1 == "mod" { print $3 " built with " go }')
pe_log "running: MinIO ${minio_build:-$PE_MINIO_VERSION}; ElasticMQ $PE_ELASTICMQ_VERSION on $(java -version 2>&1 | head -n 1)"
pe_log "ready in $(($(pe_now) - t0))s; variables in $run/env.sh"
