#!/usr/bin/env bash
# The main command: sets up everything (venv, JRE, Maven, redis-server when missing), then
# runs the demo: a real Kafka broker and Redis as local processes (no Docker needed), the
# worker, the notifier printing alerts on this console, and simulated traffic. Ctrl-C stops
# everything it started. Arguments go to `leadtemp demo` (--rate, --leads, --accounts, --seed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/setup.sh
exec .venv/bin/leadtemp demo "$@"
