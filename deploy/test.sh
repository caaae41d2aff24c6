#!/usr/bin/env bash
# Sets up and runs the whole test suite. The suite starts the real Kafka broker
# and Redis itself (or uses KAFKA_BOOTSTRAP_SERVERS/REDIS_URL, or Docker).
set -uo pipefail
cd "$(dirname "$0")/.."
bash deploy/setup.sh || exit 1

.venv/bin/ruff check scoring streams alerts gateway toolkit devstack cli tests bench || exit 1
.venv/bin/mypy || exit 1

.venv/bin/pytest -p no:cacheprovider "$@"
rc=$?
if [ $rc -eq 5 ]; then
  echo "test.sh: pytest collected no tests; that is a failure, not a pass" >&2
  exit 1
fi
[ $rc -eq 0 ] || exit $rc

# The Docker image runs the engine compiled by mypyc (setup.py): its tests again, on that
# build. From inside the build, and with the tests' directories appended to sys.path, so
# the source checkout cannot shadow it (tests/scoring/test_build.py checks that it did not).
repo=$PWD
site=$(bash deploy/compile.sh) || exit 1
cd "$site" && PYTHONPATH="$site" LEADTEMP_EXPECT_BUILD=compiled "$repo/.venv/bin/pytest" \
  -p no:cacheprovider --rootdir="$repo" --import-mode=append "$@" "$repo/tests/scoring"
