#!/usr/bin/env bash
# Runs a benchmark on the build the Docker image runs, with the engine compiled by mypyc:
#   bash bench/compiled.sh replay [--events N ...]
#   bash bench/compiled.sh pipeline [--events N ...]   (its worker runs the same build)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
site=$(bash "$repo/deploy/compile.sh")
# From inside the build, so that its compiled `scoring` comes before the source checkout's.
cd "$site" && PYTHONPATH="$site:$repo" exec "$repo/.venv/bin/python" -m "bench.$1" "${@:2}"
