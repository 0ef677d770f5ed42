# Shared settings for the real-server scripts (sourced, not run). Everything can be overridden from the
# environment; defaults keep off the embedded backend's ports (4566, 8000, 8001).

# MinIO publishes no Go-semver tags (its RELEASE.* tags are not module versions), so the build is pinned
# to a pseudo-version: the last commit on master (2026-02-12), which builds with Go 1.24+ (checked with 1.26).
PE_MINIO_MODULE="github.com/minio/minio"
PE_MINIO_VERSION="${PE_MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}"
# ElasticMQ 1.7.1 (Maven Central, Scala 2.13 build): speaks the SQS JSON protocol the AWS SDK v3 uses.
PE_ELASTICMQ_VERSION="${PE_ELASTICMQ_VERSION:-1.7.1}"
# moto (PyPI) in server mode: the one offline stand-in that chains S3 event notifications → SNS → SQS, for the
# cross-instance progress channel (test/real/progress-channel.test.ts). S3, SNS and SQS on one port.
PE_MOTO_VERSION="${PE_MOTO_VERSION:-5.2.6}"

PE_REAL_HOST="127.0.0.1"
PE_MINIO_PORT="${PE_MINIO_PORT:-9710}"
PE_MINIO_CONSOLE_PORT="${PE_MINIO_CONSOLE_PORT:-9711}"
PE_ELASTICMQ_PORT="${PE_ELASTICMQ_PORT:-9724}"
PE_MOTO_PORT="${PE_MOTO_PORT:-9726}"
# Fixed test credentials (MinIO wants ≥ 3 / ≥ 8 characters); ElasticMQ accepts any signature.
PE_MINIO_USER="${PE_MINIO_USER:-photoenhance}"
PE_MINIO_PASSWORD="${PE_MINIO_PASSWORD:-photoenhance-secret}"

# Build outputs survive between runs on the same machine; the run dir (pids, logs, data) does not.
PE_REAL_CACHE="${PE_REAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/photoenhance/real-servers}"
PE_MINIO_BIN="$PE_REAL_CACHE/minio-$PE_MINIO_VERSION/minio"
PE_ELASTICMQ_DIR="$PE_REAL_CACHE/elasticmq-$PE_ELASTICMQ_VERSION"
PE_ELASTICMQ_CLASSPATH="$PE_ELASTICMQ_DIR/classpath.txt"
PE_MOTO_DIR="$PE_REAL_CACHE/moto-$PE_MOTO_VERSION"
PE_MOTO_BIN="$PE_MOTO_DIR/bin/moto_server"
PE_REAL_RUN_DIR="${PE_REAL_RUN_DIR:-${TMPDIR:-/tmp}/photoenhance-real-servers-$PE_MINIO_PORT}"

PE_PYTHON="${PE_PYTHON:-$(command -v python3 || echo python3)}"
PE_GO="${PE_GO:-$(command -v go || echo /usr/local/go/bin/go)}"

pe_log() { printf '[real-servers] %s\n' "$*" >&2; }

# Seconds since the epoch, for stage timings.
pe_now() { date +%s; }

# pe_pid_alive FILE → true when FILE names a running process.
pe_pid_alive() { [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
