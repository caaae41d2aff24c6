#!/usr/bin/env bash
# Sets up everything and runs the main job: starts a real Kafka broker and Redis
# (local processes, no Docker needed), then scores the example personas with the
# same engine the live worker uses. `.venv/bin/leadtemp dev down` stops the services.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/setup.sh
.venv/bin/leadtemp dev up
if .venv/bin/leadtemp replay --help >/dev/null 2>&1; then
  .venv/bin/leadtemp replay tests/examples/personas.jsonl --now 2026-11-01T00:00:00Z
fi
