#!/usr/bin/env bash
# Installs the pinned real servers into a per-machine cache (idempotent: a second run only checks them).
#  - MinIO: built from source the way MinIO's README documents, `go install github.com/minio/minio@<version>`.
#  - ElasticMQ: the server and its dependencies resolved from Maven Central into ~/.m2; the classpath is cached.
#  - moto: `pip install moto[server]==<version>` from PyPI into a virtual environment of its own.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=common.sh
source "$here/common.sh"

install_minio() {
  if [[ -x "$PE_MINIO_BIN" ]]; then
    pe_log "MinIO $PE_MINIO_VERSION: cached at $PE_MINIO_BIN"
    return
  fi
  if [[ ! -x "$PE_GO" ]]; then
    pe_log "Go is needed to build MinIO (looked for '$PE_GO'; set PE_GO)"
    exit 1
  fi
  local t0 staging
  t0=$(pe_now)
  pe_log "building MinIO $PE_MINIO_VERSION with $("$PE_GO" version) (a few minutes on 2 cores)…"
  staging="$(dirname "$PE_MINIO_BIN").partial"
  rm -rf "$staging"
  mkdir -p "$staging"
  # Exactly MinIO's documented `go install`; GOTOOLCHAIN=local so the pinned build never fetches another Go.
  GOTOOLCHAIN=local GOBIN="$staging" "$PE_GO" install "$PE_MINIO_MODULE@$PE_MINIO_VERSION"
  # Moved into place only when complete, so an interrupted build is never mistaken for a cached one.
  rm -rf "$(dirname "$PE_MINIO_BIN")"
  mv "$staging" "$(dirname "$PE_MINIO_BIN")"
  pe_log "MinIO built in $(($(pe_now) - t0))s"
}

install_elasticmq() {
  if [[ -s "$PE_ELASTICMQ_CLASSPATH" ]] && tr ':' '\n' <"$PE_ELASTICMQ_CLASSPATH" | xargs -r ls >/dev/null 2>&1; then
    pe_log "ElasticMQ $PE_ELASTICMQ_VERSION: cached ($(tr ':' '\n' <"$PE_ELASTICMQ_CLASSPATH" | wc -l) jars)"
    return
  fi
  if ! command -v mvn >/dev/null || ! command -v java >/dev/null; then
    pe_log "ElasticMQ needs Maven (mvn) and a JDK (java) on PATH"
    exit 1
  fi
  local t0
  t0=$(pe_now)
  pe_log "resolving ElasticMQ $PE_ELASTICMQ_VERSION from Maven Central…"
  mkdir -p "$PE_ELASTICMQ_DIR"
  cat >"$PE_ELASTICMQ_DIR/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>photoenhance.ci</groupId>
  <artifactId>elasticmq-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.elasticmq</groupId>
      <artifactId>elasticmq-server_2.13</artifactId>
      <version>$PE_ELASTICMQ_VERSION</version>
    </dependency>
  </dependencies>
</project>
POM
  mvn -B -q -Dstyle.color=never -f "$PE_ELASTICMQ_DIR/pom.xml" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath \
    -Dmdep.outputFile="$PE_ELASTICMQ_CLASSPATH.partial" -Dmdep.includeScope=runtime
  mv "$PE_ELASTICMQ_CLASSPATH.partial" "$PE_ELASTICMQ_CLASSPATH"
  pe_log "ElasticMQ resolved in $(($(pe_now) - t0))s"
}

install_moto() {
  if [[ -x "$PE_MOTO_BIN" && -f "$PE_MOTO_DIR/.installed" ]]; then
    pe_log "moto $PE_MOTO_VERSION: cached at $PE_MOTO_DIR"
    return
  fi
  if ! "$PE_PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
    pe_log "moto needs Python 3 with venv and ensurepip (looked for '$PE_PYTHON'; set PE_PYTHON, or apt-get install python3-venv)"
    exit 1
  fi
  local t0
  t0=$(pe_now)
  pe_log "installing moto[server] $PE_MOTO_VERSION from PyPI…"
  # A venv's scripts name its own path, so it is built in place (not moved) and marked complete at the end: an
  # interrupted install is never mistaken for a cached one.
  rm -rf "$PE_MOTO_DIR"
  "$PE_PYTHON" -m venv "$PE_MOTO_DIR"
  "$PE_MOTO_DIR/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$PE_MOTO_VERSION"
  touch "$PE_MOTO_DIR/.installed"
  pe_log "moto installed in $(($(pe_now) - t0))s"
}

case "${1:-all}" in
minio) install_minio ;;
elasticmq) install_elasticmq ;;
moto) install_moto ;;
all)
  install_minio
  install_elasticmq
  install_moto
  ;;
*)
  pe_log "usage: install.sh [minio|elasticmq|moto|all]"
  exit 2
  ;;
esac
