#!/usr/bin/env bash
# NAV's mock-oauth2-server on 127.0.0.1: a real OpenID Connect server with the issuers idporten,
# maskinporten and entra (compose/oidc/config.json says what claims each token request gets).
#   oidc.sh start   fetches the pinned jars from Maven Central once (cached), starts the server on
#                   a free port (or SAKSFLYT_OIDC_PORT), waits until discovery answers, prints its
#                   base URL (an issuer is <base>/<name>). SAKSFLYT_OIDC_CONFIG names another
#                   JSON config (e.g. with the signing key to use: a test rotates keys with it)
#   oidc.sh stop    stops that server and deletes its files
#   oidc.sh jars    fetches the jars when missing and prints their folder
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
state="${SAKSFLYT_SERVICES_DIR:-$here/../.services}"
version=$(sed -n 's:.*<mock-oauth2-server.version>\(.*\)</mock-oauth2-server.version>.*:\1:p' "$here/oidc/pom.xml")
cache="${XDG_CACHE_HOME:-$HOME/.cache}/saksflyt/mock-oauth2-server-$version"
mkdir -p "$state"
# shellcheck source=compose/service-lib.sh
. "$here/service-lib.sh"

log() { echo "oidc.sh: $*" >&2; }

fetch_jars() {
  "$here/kafka.sh" tools  # Java and Maven, from Debian's packages when missing
  [ -f "$cache/libs/mock-oauth2-server-$version.jar" ] && return 0
  log "fetching mock-oauth2-server $version jars from Maven Central into $cache"
  mvn -q -B -f "$here/oidc/pom.xml" dependency:copy-dependencies -DoutputDirectory="$cache/libs.tmp" >&2
  rm -rf "$cache/libs" && mv "$cache/libs.tmp" "$cache/libs"
}

start() {
  fetch_jars
  local dir port base
  dir=$(mktemp -d "${TMPDIR:-/tmp}/saksflyt-oidc.XXXXXX")
  port="${SAKSFLYT_OIDC_PORT:-$(free_port)}"
  base="http://127.0.0.1:$port"
  SERVER_HOSTNAME=127.0.0.1 SERVER_PORT="$port" \
    JSON_CONFIG_PATH="${SAKSFLYT_OIDC_CONFIG:-$here/oidc/config.json}" \
    nohup java -Xms32m -Xmx256m -cp "$cache/libs/*" \
    no.nav.security.mock.oauth2.StandaloneMockOAuth2ServerKt >"$dir/oidc.out" 2>&1 &
  echo $! > "$dir/pid"
  echo "$dir" > "$state/oidc.dir"
  local deadline=$((SECONDS + 60))
  until python3 -c "import urllib.request as u; u.urlopen('$base/entra/.well-known/openid-configuration', timeout=2)" 2>/dev/null; do
    if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      log "server exited during start-up:"; tail -n 30 "$dir/oidc.out" >&2; exit 1
    fi
    if [ $SECONDS -ge $deadline ]; then log "server not answering after 60 s"; exit 1; fi
    sleep 0.2
  done
  log "mock-oauth2-server $version on $base"
  echo "$base"
}

stop() { stop_java_service oidc; }

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  jars) fetch_jars && echo "$cache/libs" ;;
  *) echo "usage: $0 start|stop|jars" >&2; exit 2 ;;
esac
