#!/usr/bin/env bash
# Start the services the tests need on 127.0.0.1, run the given command, stop what was started.
# A user with their own servers sets SAKSFLYT_TEST_POSTGRES_URL, SAKSFLYT_TEST_KAFKA and/or
# SAKSFLYT_TEST_OIDC (an OpenID Connect server like compose/oidc.sh's) and nothing is started for
# those. SAKSFLYT_TEST_SERVICES names the servers to start (default: "postgres kafka oidc").
# SAKSFLYT_TEST_SCRATCH=memory (make test, make test-fast): the servers' data and every temporary
# file of the run (TMPDIR) in a folder on /dev/shm, removed at the end — no test checks a flush to
# a disk, and waiting for them was a tenth of the suite's time (a quarter of a simulated month's
# on SQLite or PostgreSQL). Unset (make bench): on disk, as a deployment's.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
started=()
scratch=""
wanted=" ${SAKSFLYT_TEST_SERVICES:-postgres kafka oidc} "
cleanup() {
  for service in "${started[@]}"; do "$here/$service.sh" stop || true; done
  if [ -n "$scratch" ]; then rm -rf "$scratch"; fi
}
trap cleanup EXIT

if [ "${SAKSFLYT_TEST_SCRATCH:-}" = memory ]; then
  free_kib=$(df --output=avail -k /dev/shm 2>/dev/null | tail -n 1 || echo 0)
  if [ "${free_kib// /}" -ge $((6 * 1024 * 1024)) ]; then
    scratch=$(mktemp -d /dev/shm/saksflyt-test.XXXXXX)
    chmod 711 "$scratch"  # PostgreSQL runs as its own account when started by root
    export TMPDIR="$scratch"
    echo "with-services.sh: temporary files and the servers' data in memory ($scratch)" >&2
  else
    echo "with-services.sh: under 6 GiB free on /dev/shm: temporary files on disk" >&2
  fi
fi

if [ -z "${SAKSFLYT_TEST_POSTGRES_URL:-}" ] && [[ "$wanted" == *" postgres "* ]]; then
  started+=(postgres)
  SAKSFLYT_TEST_POSTGRES_URL=$("$here/postgres.sh" start)
  # where its data files are: the privacy tests read them raw, looking for personal data
  SAKSFLYT_TEST_POSTGRES_DATA="$(cat "${SAKSFLYT_SERVICES_DIR:-$here/../.services}/postgres.dir")/data"
  export SAKSFLYT_TEST_POSTGRES_URL SAKSFLYT_TEST_POSTGRES_DATA
fi
if [ -z "${SAKSFLYT_TEST_KAFKA:-}" ] && [[ "$wanted" == *" kafka "* ]]; then
  started+=(kafka)
  SAKSFLYT_TEST_KAFKA=$("$here/kafka.sh" start)
  kafka_dir=$(cat "${SAKSFLYT_SERVICES_DIR:-$here/../.services}/kafka.dir")
  SAKSFLYT_TEST_KAFKA_DATA="$kafka_dir/data"
  # the same broker's SCRAM-SHA-512 listener, user saksflyt (the security tests use it)
  SAKSFLYT_TEST_KAFKA_SASL="$(cat "$kafka_dir/sasl-listener")"
  SAKSFLYT_TEST_KAFKA_SASL_PASSWORD="$(cat "$kafka_dir/sasl-password")"
  export SAKSFLYT_TEST_KAFKA SAKSFLYT_TEST_KAFKA_DATA SAKSFLYT_TEST_KAFKA_SASL SAKSFLYT_TEST_KAFKA_SASL_PASSWORD
fi
if [ -z "${SAKSFLYT_TEST_OIDC:-}" ] && [[ "$wanted" == *" oidc "* ]]; then
  # NAV's mock-oauth2-server: ID-porten, Maskinporten and Entra ID for the identity tests
  started+=(oidc)
  SAKSFLYT_TEST_OIDC=$("$here/oidc.sh" start)
  export SAKSFLYT_TEST_OIDC
fi
if [ -z "${SAKSFLYT_TEST_PDFA_VALIDATOR:-}" ]; then
  # not a service: the jars of the PDF/A validator the archive tests run (fetched once)
  SAKSFLYT_TEST_PDFA_VALIDATOR=$("$here/pdfa.sh" path)
  export SAKSFLYT_TEST_PDFA_VALIDATOR
fi
"$@"
