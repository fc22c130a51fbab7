#!/usr/bin/env bash
# A throwaway single-node Apache Kafka broker (KRaft, broker+controller) on 127.0.0.1, no Docker.
#   kafka.sh start   fetches the pinned broker jars from Maven Central once (cached), formats
#                    storage, starts the broker on free ports, waits until it accepts connections,
#                    prints host:port on stdout. A second listener takes SASL SCRAM-SHA-512 for
#                    user "saksflyt"; its host:port and password are in <dir>/sasl-listener and
#                    <dir>/sasl-password (<dir> is named in .services/kafka.dir)
#   kafka.sh stop    stops that broker and deletes its files
#   kafka.sh tools   installs Java and Maven from Debian's packages when missing
#   kafka.sh jars    fetches the jars when missing and prints their folder (the fault campaign
#                    runs a three-broker cluster from them)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
state="${SAKSFLYT_SERVICES_DIR:-$here/../.services}"
version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/kafka/pom.xml")
cache="${XDG_CACHE_HOME:-$HOME/.cache}/saksflyt/kafka-$version"
mkdir -p "$state"
# shellcheck source=compose/service-lib.sh
. "$here/service-lib.sh"

log() { echo "kafka.sh: $*" >&2; }


install_tools() {  # Java runs the broker, Maven fetches it: from Debian's packages when missing
  local missing=()
  command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || missing+=(maven)
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]} from Debian's packages"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
}

fetch_jars() {
  install_tools
  [ -f "$cache/libs/kafka_2.13-$version.jar" ] && return 0
  log "fetching Apache Kafka $version jars from Maven Central into $cache"
  mvn -q -B -f "$here/kafka/pom.xml" dependency:copy-dependencies -DoutputDirectory="$cache/libs.tmp" >&2
  rm -rf "$cache/libs" && mv "$cache/libs.tmp" "$cache/libs"
}

write_config() {  # dir port controller_port sasl_port
  cat > "$1/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$3
listeners=PLAINTEXT://127.0.0.1:$2,CONTROLLER://127.0.0.1:$3,SASL_PLAINTEXT://127.0.0.1:$4
advertised.listeners=PLAINTEXT://127.0.0.1:$2,SASL_PLAINTEXT://127.0.0.1:$4
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
log.dirs=$1/data
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
  cat > "$1/log4j.properties" <<PROPS
log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$1/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
PROPS
}

wait_until_listening() {  # pid port
  local deadline=$((SECONDS + 90))
  until python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $2), 1).close()" 2>/dev/null; do
    if ! kill -0 "$1" 2>/dev/null; then
      log "broker exited during start-up:"; tail -n 30 "$dir/kafka.out" >&2; exit 1
    fi
    if [ $SECONDS -ge $deadline ]; then log "broker not listening after 90 s"; exit 1; fi
    sleep 0.2
  done
}

start() {
  fetch_jars
  dir=$(mktemp -d "${TMPDIR:-/tmp}/saksflyt-kafka.XXXXXX")
  local port cport sport password cluster java_opts
  port=$(free_port); cport=$(free_port); sport=$(free_port)
  password=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')
  write_config "$dir" "$port" "$cport" "$sport"
  echo "127.0.0.1:$sport" > "$dir/sasl-listener"
  (umask 077; echo "$password" > "$dir/sasl-password")
  cluster=$(python3 -c 'import base64,uuid; print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))')
  java_opts=(-Xms256m -Xmx768m -Dlog4j.configuration="file:$dir/log4j.properties" -cp "$cache/libs/*")
  java "${java_opts[@]}" kafka.tools.StorageTool format --cluster-id="$cluster" \
    -c "$dir/server.properties" --ignore-formatted \
    --add-scram "SCRAM-SHA-512=[name=saksflyt,password=$password]" >/dev/null
  nohup java "${java_opts[@]}" kafka.Kafka "$dir/server.properties" >"$dir/kafka.out" 2>&1 &
  echo $! > "$dir/pid"
  echo "$dir" > "$state/kafka.dir"
  wait_until_listening "$(cat "$dir/pid")" "$port"
  log "Apache Kafka $version (KRaft) on 127.0.0.1:$port"
  echo "127.0.0.1:$port"
}

stop() { stop_java_service kafka; }

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  tools) install_tools ;;
  jars) fetch_jars && echo "$cache/libs" ;;
  *) echo "usage: $0 start|stop|tools|jars" >&2; exit 2 ;;
esac
