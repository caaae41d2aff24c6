#!/usr/bin/env bash
# Builds leadtemp with the engine compiled by mypyc (setup.py) into build/compiled/site, a
# plain directory, not installed. To run that build, put the directory first on PYTHONPATH
# and start Python from anywhere but the repository's root (whose source would come first).
# deploy/test.sh runs the engine's tests on it; bench/compiled.sh runs a benchmark on it.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/compiled
rm -rf "$out"
LEADTEMP_COMPILE=1 .venv/bin/pip wheel -q --no-build-isolation --no-deps -w "$out/wheel" .
.venv/bin/pip install -q --no-deps --target "$out/site" "$out"/wheel/leadtemp-*.whl
echo "$PWD/$out/site"
