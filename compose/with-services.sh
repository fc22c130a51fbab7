#!/usr/bin/env bash
# Start the services the tests need on 127.0.0.1, run the given command, stop what was started.
# A user with their own server sets SAKSFLYT_TEST_POSTGRES_URL and nothing is started.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if [ -z "${SAKSFLYT_TEST_POSTGRES_URL:-}" ]; then
  trap '"$here/postgres.sh" stop' EXIT
  SAKSFLYT_TEST_POSTGRES_URL=$("$here/postgres.sh" start)
  export SAKSFLYT_TEST_POSTGRES_URL
fi
"$@"
