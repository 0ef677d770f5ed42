#!/usr/bin/env bash
# `npm run test:real`: install (cached) and start MinIO + ElasticMQ on loopback, run the cross-service suite
# (test/e2e, test/integration) in the harness's "external" mode plus test/real (what only real servers can
# answer), then stop the servers — on success, failure or Ctrl-C alike. Extra arguments go to vitest.
# PE_VITEST_CONFIG picks another suite on the same servers: `npm run test:chaos` runs test/chaos this way.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=common.sh
source "$here/common.sh"
export PATH="$root/node_modules/.bin:$PATH"
cd "$root"

# Two runs on the same ports would share servers and the first to finish would stop them under the other:
# the second waits for the first instead (pick other PE_*_PORTs to run side by side).
if command -v flock >/dev/null; then
  exec {lock_fd}>"$PE_REAL_RUN_DIR.lock"
  if ! flock -n "$lock_fd"; then
    pe_log "another run uses ports $PE_MINIO_PORT/$PE_ELASTICMQ_PORT; waiting for it (up to 15 min)…"
    flock -w 900 "$lock_fd"
  fi
fi

timings=()
stage_start=0
stage_name=""
stage_open=0
begin() {
  stage_name=$1
  stage_start=$(pe_now)
  stage_open=1
  printf '\n--> %s\n' "$stage_name" >&2
}
end() {
  timings+=("$(printf '%-26s %5ss%s' "$stage_name" "$(($(pe_now) - stage_start))" "${1:-}")")
  stage_open=0
}

status=0
vitest_pid=""
cleanup() {
  # errexit stays on inside traps: nothing here may end the cleanup early.
  set +e
  if [[ -n "$vitest_pid" ]] && kill -0 "$vitest_pid" 2>/dev/null; then
    kill -TERM "$vitest_pid" 2>/dev/null
    wait "$vitest_pid" 2>/dev/null
  fi
  ((stage_open)) && end "  (failed)"
  # Server logs only matter when something went wrong.
  if ((status != 0)); then
    for name in minio elasticmq moto; do
      if [[ -s "$PE_REAL_RUN_DIR/$name.log" ]]; then
        pe_log "last lines of $name.log:"
        tail -n 20 "$PE_REAL_RUN_DIR/$name.log" >&2 || true
      fi
    done
  fi
  begin "stop servers"
  "$here/stop.sh" || true
  end
  printf '\n[real-servers] stage times:\n' >&2
  printf '  %s\n' "${timings[@]}" >&2
}
trap 'status=$?; cleanup; exit $status' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

begin "install MinIO"
"$here/install.sh" minio
end
begin "install ElasticMQ"
"$here/install.sh" elasticmq
end
begin "install moto"
"$here/install.sh" moto
end
begin "models (cached)"
npm run --silent models
end
begin "start servers"
"$here/start.sh" {lock_fd}>&-
end

# shellcheck disable=SC1091
source "$PE_REAL_RUN_DIR/env.sh"
# The chaos suite stalls (SIGSTOP/SIGCONT), kills and restarts the servers: it finds them through the run dir.
export PE_REAL_RUN_DIR
suite_config="${PE_VITEST_CONFIG:-test/real/vitest.config.ts}"
begin "vitest ($suite_config)"
# In the background so a SIGTERM/SIGINT reaches the traps at once instead of after the whole run.
# Without the lock's fd: servers the chaos suite restarts (start.sh minio|elasticmq) must not hold the lock.
vitest run --config "$suite_config" "$@" {lock_fd}>&- &
vitest_pid=$!
wait "$vitest_pid"
vitest_pid=""
end
