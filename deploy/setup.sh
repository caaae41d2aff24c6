#!/usr/bin/env bash
# Installs everything leadtemp needs on a fresh Debian-like machine, idempotently:
# a virtualenv in .venv with the project and its dev tools, a JDK and Maven (for
# the local Kafka broker), redis-server, and gcc and Python's headers (the compiled
# engine). Safe to run again; fast when done.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
need_apt=()
command -v java >/dev/null 2>&1 || need_apt+=(default-jre-headless)
command -v mvn >/dev/null 2>&1 || need_apt+=(maven)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
# deploy/compile.sh (the compiled engine, tested by deploy/test.sh) needs a C compiler and
# Python's headers.
command -v cc >/dev/null 2>&1 || need_apt+=(gcc)
"$PYTHON" -c 'import os, sysconfig, sys; sys.exit(not os.path.exists(
  os.path.join(sysconfig.get_paths()["include"], "Python.h")))' || need_apt+=(python3-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${need_apt[*]} with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "setup: please install: ${need_apt[*]} (Debian package names)" >&2
    exit 1
  fi
fi

stamp=.venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)
if [ ! -f "$stamp" ]; then
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e '.[dev]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi

# Helm, for the chart's tests (deploy/helm/): the one on PATH, else built once from its Go
# module (a few minutes on 2 cores) into the cache, linked into .venv/bin either way. Without
# Go or Helm the chart's tests are skipped (and fail under CI).
HELM_VERSION=v3.19.0
helm_cache=${XDG_CACHE_HOME:-$HOME/.cache}/leadtemp/helm-$HELM_VERSION
if [ ! -x .venv/bin/helm ]; then
  if command -v helm >/dev/null 2>&1; then
    ln -sf "$(command -v helm)" .venv/bin/helm
  elif [ -x "$helm_cache/helm" ] || command -v go >/dev/null 2>&1; then
    if [ ! -x "$helm_cache/helm" ]; then
      echo "setup: building Helm $HELM_VERSION from its Go module (once)" >&2
      GOBIN="$helm_cache" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
    fi
    ln -sf "$helm_cache/helm" .venv/bin/helm
  else
    echo "setup: no helm and no go: the Helm chart's tests will be skipped" >&2
  fi
fi
