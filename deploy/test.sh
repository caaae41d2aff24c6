#!/usr/bin/env bash
# Sets up and runs the whole test suite. The suite starts the real Kafka broker
# and Redis itself (or uses KAFKA_BOOTSTRAP_SERVERS/REDIS_URL, or Docker).
set -uo pipefail
cd "$(dirname "$0")/.."
bash deploy/setup.sh || exit 1

.venv/bin/ruff check scoring streams alerts tests bench || exit 1
.venv/bin/mypy || exit 1

.venv/bin/pytest -p no:cacheprovider "$@"
rc=$?
if [ $rc -eq 5 ]; then
  echo "test.sh: pytest collected no tests; that is a failure, not a pass" >&2
  exit 1
fi
exit $rc
