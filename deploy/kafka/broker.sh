#!/usr/bin/env bash
# An Apache Kafka broker in KRaft mode on 127.0.0.1, from the jars Maven Central serves (see
# pom.xml): a single node by default, or one node of a local cluster (KAFKA_NODE_ID,
# KAFKA_QUORUM_VOTERS, KAFKA_CLUSTER_ID; each node has its own ports and instance directory). No Docker, no Kafka download: Maven resolves the broker's runtime
# classpath once, into the local Maven cache, and `java -cp` runs kafka.Kafka on it.
#
#   bash deploy/kafka/broker.sh start|stop|status
#   bash deploy/kafka/broker.sh tool <name> [args...]   Kafka's own command-line tools on the same
#                                                       jars, e.g. tool kafka-consumer-groups
#                                                       --bootstrap-server 127.0.0.1:9092 --describe
#                                                       --group rxrec.workers (npm run kafka:tool)
#
# Environment (all optional):
#   KAFKA_PORT             client listener port                          (9092)
#   KAFKA_CONTROLLER_PORT  KRaft controller listener port                (9093)
#   KAFKA_SASL_PORT        also listen with SASL_PLAINTEXT/PLAIN here,   (off)
#                          with ACLs enforced for SASL users
#   KAFKA_SASL_USERS       user:password[,user:password...] for that     (admin:admin-secret,rxrec:rxrec-secret)
#   KAFKA_SASL_SUPER_USERS users allowed everything; the others need ACLs (admin)
#   KAFKA_SSL_PORT         also listen with TLS here, with a self-signed  (off)
#                          certificate for 127.0.0.1 made by keytool; its
#                          PEM is <KAFKA_DATA_DIR>/tls/ca.pem (for --ssl-ca)
#   KAFKA_DATA_DIR         instance directory: data, config, pid, log    (deploy/kafka/run)
#   KAFKA_HEAP_OPTS        JVM heap                                      (-Xms128m -Xmx512m)
#   KAFKA_NODE_ID          this node's id                                (1)
#   KAFKA_QUORUM_VOTERS    id@host:controllerPort[,...] of every node;   (this node alone)
#                          each is a combined broker and controller
#   KAFKA_CLUSTER_ID       formats the storage with it; every node of a  (random)
#                          cluster needs the same one
#   KAFKA_REPLICATION_FACTOR  default and internal topics' replication (1)
#   KAFKA_MIN_INSYNC_REPLICAS min.insync.replicas, also of the            (1)
#                          transaction log
#   KAFKA_START_TIMEOUT    seconds to wait for the broker to be ready    (60)
#   KAFKA_STOP_TIMEOUT     seconds to wait after SIGTERM before SIGKILL  (30)
set -euo pipefail

KAFKA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
POM="$KAFKA_DIR/pom.xml"
# The classpath cache is shared by every instance; it depends on pom.xml only.
RUN_DIR="$KAFKA_DIR/run"
CLASSPATH_FILE="$RUN_DIR/classpath.txt"

PORT="${KAFKA_PORT:-9092}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
SASL_PORT="${KAFKA_SASL_PORT:-}"
SASL_USERS="${KAFKA_SASL_USERS:-admin:admin-secret,rxrec:rxrec-secret}"
SASL_SUPER_USERS="${KAFKA_SASL_SUPER_USERS:-admin}"
SSL_PORT="${KAFKA_SSL_PORT:-}"
INSTANCE_DIR="${KAFKA_DATA_DIR:-$RUN_DIR}"
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m}"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
NODE_ID="${KAFKA_NODE_ID:-1}"
QUORUM_VOTERS="${KAFKA_QUORUM_VOTERS:-$NODE_ID@127.0.0.1:$CONTROLLER_PORT}"
CLUSTER_ID="${KAFKA_CLUSTER_ID:-}"
REPLICATION_FACTOR="${KAFKA_REPLICATION_FACTOR:-1}"
MIN_INSYNC_REPLICAS="${KAFKA_MIN_INSYNC_REPLICAS:-1}"

PID_FILE="$INSTANCE_DIR/broker.pid"
LOG_FILE="$INSTANCE_DIR/broker.log"
SERVER_PROPERTIES="$INSTANCE_DIR/server.properties"
LOG4J_PROPERTIES="$INSTANCE_DIR/log4j.properties"
DATA_DIR="$INSTANCE_DIR/data"
TLS_DIR="$INSTANCE_DIR/tls"
# Protects only the development key store under TLS_DIR.
TLS_STORE_PASSWORD="rxrec-dev-keystore"

say() { echo "kafka: $*"; }
fail() { echo "kafka: error: $*" >&2; exit 1; }

kafka_version() {
  sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM"
}

# The client port of the broker this instance directory last configured.
configured_port() {
  sed -n 's|^advertised.listeners=PLAINTEXT://127.0.0.1:\([0-9]*\).*|\1|p' "$SERVER_PROPERTIES" 2>/dev/null
}

port_answers() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# The pid in the pid file, when that process is still this instance's broker (pids get reused).
running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid args
  pid="$(cat "$PID_FILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  args="$(ps -ww -p "$pid" -o args= 2>/dev/null)" || return 1
  [[ "$args" == *"$SERVER_PROPERTIES"* ]] || return 1
  echo "$pid"
}

# Resolve (and on first use download) the broker's jars. Maven's own output goes to a log; the
# terminal gets one line per downloaded jar so a first run is visibly making progress.
resolve_classpath() {
  if [[ -s "$CLASSPATH_FILE" && "$CLASSPATH_FILE" -nt "$POM" ]] && classpath_jars_present; then
    return
  fi
  command -v mvn >/dev/null || fail "mvn is not on PATH; install Maven 3.8+ (it fetches the broker from Maven Central)"
  mkdir -p "$RUN_DIR"
  local maven_log="$RUN_DIR/maven.log" partial="$CLASSPATH_FILE.$$"
  say "resolving Apache Kafka $(kafka_version) with Maven (the first run downloads about 70 MB into ~/.m2)"
  if ! mvn -B -f "$POM" dependency:build-classpath -Dmdep.outputFile="$partial" 2>&1 \
      | tee "$maven_log" \
      | sed -un 's|^\[INFO\] Downloaded from [^:]*: .*/\([^/]*\.jar\) (\(.*\))|kafka:   downloaded \1 (\2)|p'; then
    rm -f "$partial"
    fail "Maven could not resolve the broker's jars; see $maven_log (is Maven Central reachable?)"
  fi
  [[ -s "$partial" ]] || fail "Maven wrote no classpath; see $maven_log"
  mv "$partial" "$CLASSPATH_FILE"
}

classpath_jars_present() {
  local jar jars
  IFS=':' read -r -a jars < "$CLASSPATH_FILE" || true
  for jar in "${jars[@]}"; do [[ -f "$jar" ]] || return 1; done
}

write_config() {
  mkdir -p "$INSTANCE_DIR" "$DATA_DIR"
  local advertised="PLAINTEXT://127.0.0.1:$PORT" protocols="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
  if [[ -n "$SASL_PORT" ]]; then
    advertised="$advertised,SASL_PLAINTEXT://127.0.0.1:$SASL_PORT"
    protocols="$protocols,SASL_PLAINTEXT:SASL_PLAINTEXT"
  fi
  if [[ -n "$SSL_PORT" ]]; then
    advertised="$advertised,SSL://127.0.0.1:$SSL_PORT"
    protocols="$protocols,SSL:SSL"
  fi
  cat > "$SERVER_PROPERTIES" <<EOF
# Written by deploy/kafka/broker.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=$NODE_ID
controller.quorum.voters=$QUORUM_VOTERS
controller.listener.names=CONTROLLER
listeners=$advertised,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=$advertised
listener.security.protocol.map=$protocols
inter.broker.listener.name=PLAINTEXT
log.dirs=$DATA_DIR
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=$REPLICATION_FACTOR
min.insync.replicas=$MIN_INSYNC_REPLICAS
offsets.topic.replication.factor=$REPLICATION_FACTOR
# Fewer internal partitions than the default 50: the first consumer group joins in a blink.
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=$REPLICATION_FACTOR
transaction.state.log.min.isr=$MIN_INSYNC_REPLICAS
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
# Lets tests that kill workers use a short --session-timeout-ms (the broker's default floor is 6 s).
group.min.session.timeout.ms=1000
# The log cleaner (compacted topics) would otherwise take 128 MB of a small heap.
log.cleaner.dedupe.buffer.size=16777216
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
EOF
  if [[ -n "$SASL_PORT" ]]; then
    local jaas="org.apache.kafka.common.security.plain.PlainLoginModule required" entry entries
    local super_users="User:ANONYMOUS" user users
    IFS=',' read -r -a entries <<< "$SASL_USERS"
    for entry in "${entries[@]}"; do jaas="$jaas user_${entry%%:*}=\"${entry#*:}\""; done
    IFS=',' read -r -a users <<< "$SASL_SUPER_USERS"
    for user in "${users[@]}"; do super_users="$super_users;User:$user"; done
    # Plaintext clients (and the controller) are ANONYMOUS and stay allowed everything; SASL users
    # other than the super users are denied until ACLs grant them access.
    cat >> "$SERVER_PROPERTIES" <<EOF
sasl.enabled.mechanisms=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config=$jaas;
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=$super_users
EOF
  fi
  if [[ -n "$SSL_PORT" ]]; then
    make_certificate_once
    cat >> "$SERVER_PROPERTIES" <<EOF
ssl.keystore.type=PKCS12
ssl.keystore.location=$TLS_DIR/broker.p12
ssl.keystore.password=$TLS_STORE_PASSWORD
ssl.key.password=$TLS_STORE_PASSWORD
ssl.client.auth=none
EOF
  fi
  cat > "$LOG4J_PROPERTIES" <<EOF
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$LOG_FILE
log4j.appender.file.Append=true
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.org.apache.kafka.clients=WARN
log4j.logger.kafka.log.LogCleaner=WARN
EOF
}

# A self-signed certificate for 127.0.0.1 (and localhost), kept with the instance: clients trust
# exactly it with --ssl-ca "$TLS_DIR/ca.pem". A development certificate, not a production one.
make_certificate_once() {
  if [[ -f "$TLS_DIR/broker.p12" && -f "$TLS_DIR/ca.pem" ]]; then return; fi
  mkdir -p "$TLS_DIR"
  rm -f "$TLS_DIR/broker.p12" "$TLS_DIR/ca.pem"
  keytool -genkeypair -alias broker -keyalg RSA -keysize 2048 -validity 3650 -dname "CN=127.0.0.1" \
    -ext "SAN=IP:127.0.0.1,DNS:localhost" -ext "BC=ca:true" -keystore "$TLS_DIR/broker.p12" -storetype PKCS12 \
    -storepass "$TLS_STORE_PASSWORD" -keypass "$TLS_STORE_PASSWORD" >> "$LOG_FILE" 2>&1 \
    || fail "keytool could not make the TLS certificate; see $LOG_FILE"
  keytool -exportcert -rfc -alias broker -keystore "$TLS_DIR/broker.p12" -storetype PKCS12 \
    -storepass "$TLS_STORE_PASSWORD" -file "$TLS_DIR/ca.pem" >> "$LOG_FILE" 2>&1 \
    || fail "keytool could not export the TLS certificate; see $LOG_FILE"
}

# Sets JAVA_CMD: java with the heap, logging and classpath every broker tool needs.
java_command() {
  local heap_opts
  read -r -a heap_opts <<< "$HEAP_OPTS"
  JAVA_CMD=(java "${heap_opts[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
    "-Dlog4j.configuration=file:$LOG4J_PROPERTIES" "-Dkafka.logs.dir=$INSTANCE_DIR"
    -cp "$(cat "$CLASSPATH_FILE")")
}

format_storage_once() {
  if [[ -f "$DATA_DIR/meta.properties" ]]; then return; fi
  local cluster_id="${CLUSTER_ID:--}"
  if [[ -n "$CLUSTER_ID" && "$CLUSTER_ID" == -* ]]; then
    fail "KAFKA_CLUSTER_ID '$CLUSTER_ID' starts with '-', which the storage tool reads as an option; generate another"
  fi
  # A Kafka cluster id is 16 random bytes in URL-safe base64 without padding; like Kafka's own
  # generator, avoid a leading '-', which the storage tool would read as an option.
  while [[ "$cluster_id" == -* ]]; do
    cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
  done
  say "formatting KRaft storage in $DATA_DIR (cluster $cluster_id)"
  java_command
  "${JAVA_CMD[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$SERVER_PROPERTIES" >> "$LOG_FILE" 2>&1 \
    || { tail -n 20 "$LOG_FILE" >&2; fail "formatting storage failed; see $LOG_FILE"; }
}

wait_until_ready() {
  local pid="$1" log_offset="$2" waited=0
  # "Kafka Server started" is logged once the broker is unfenced, i.e. serves metadata. Only this
  # run's part of the (appended) log counts.
  until port_answers "$PORT" && grep -q 'Kafka Server started' < <(tail -c "+$((log_offset + 1))" "$LOG_FILE"); do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PID_FILE"
      tail -n 20 "$LOG_FILE" >&2 || true
      fail "the broker exited during start-up; see $LOG_FILE"
    fi
    if (( waited >= START_TIMEOUT )); then
      fail "the broker did not become ready on 127.0.0.1:$PORT within ${START_TIMEOUT}s (pid $pid still running); see $LOG_FILE, then run '$0 stop'"
    fi
    sleep 1
    waited=$((waited + 1))
    if (( waited % 10 == 0 )); then say "still starting (${waited}s)"; fi
  done
}

start() {
  local pid
  if pid="$(running_pid)"; then
    say "already running at 127.0.0.1:$(configured_port) (pid $pid, log $LOG_FILE)"
    return
  fi
  rm -f "$PID_FILE"
  command -v java >/dev/null || fail "java is not on PATH; install a JDK 11+ (Kafka 3.9 runs on 11, 17, 21)"
  local port
  for port in "$PORT" "$CONTROLLER_PORT" $SASL_PORT $SSL_PORT; do
    if port_answers "$port"; then
      fail "port $port on 127.0.0.1 is already taken; stop what uses it or set KAFKA_PORT / KAFKA_CONTROLLER_PORT / KAFKA_SASL_PORT / KAFKA_SSL_PORT"
    fi
  done
  resolve_classpath
  write_config
  format_storage_once
  local started_at=$SECONDS log_offset
  log_offset="$(wc -c < "$LOG_FILE" 2>/dev/null || echo 0)"
  say "starting Apache Kafka $(kafka_version) (KRaft) on 127.0.0.1:$PORT, log $LOG_FILE"
  # Its own session: the broker outlives this script and ignores signals sent to the caller's group.
  local detach=()
  if command -v setsid >/dev/null; then detach=(setsid); fi
  java_command
  "${detach[@]}" nohup "${JAVA_CMD[@]}" kafka.Kafka "$SERVER_PROPERTIES" >> "$LOG_FILE" 2>&1 < /dev/null &
  pid=$!
  echo "$pid" > "$PID_FILE"
  wait_until_ready "$pid" "$log_offset"
  local sasl_note=""
  if [[ -n "$SASL_PORT" ]]; then sasl_note=", SASL/PLAIN on 127.0.0.1:$SASL_PORT"; fi
  if [[ -n "$SSL_PORT" ]]; then sasl_note="$sasl_note, TLS on 127.0.0.1:$SSL_PORT (CA $TLS_DIR/ca.pem)"; fi
  say "Apache Kafka $(kafka_version) running at 127.0.0.1:$PORT$sasl_note (pid $pid, ready in $((SECONDS - started_at))s, data $DATA_DIR, log $LOG_FILE)"
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    say "not running"
    return
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local waited=0
  while kill -0 "$pid" 2>/dev/null && (( waited < STOP_TIMEOUT * 10 )); do
    sleep 0.1
    waited=$((waited + 1))
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "no clean shutdown within ${STOP_TIMEOUT}s; killing pid $pid"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PID_FILE"
  say "stopped (pid $pid)"
}

status() {
  local pid
  if pid="$(running_pid)"; then
    say "running at 127.0.0.1:$(configured_port) (pid $pid, log $LOG_FILE)"
  else
    say "not running"
    exit 3
  fi
}

# The main class of each tool, as Kafka's bin/*.sh scripts of this version run them.
tool_class() {
  case "${1%.sh}" in
    kafka-consumer-groups) echo org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
    kafka-configs) echo kafka.admin.ConfigCommand ;;
    kafka-topics) echo org.apache.kafka.tools.TopicCommand ;;
    kafka-acls) echo kafka.admin.AclCommand ;;
    kafka-get-offsets) echo org.apache.kafka.tools.GetOffsetShell ;;
    kafka-delete-records) echo org.apache.kafka.tools.DeleteRecordsCommand ;;
    kafka-log-dirs) echo org.apache.kafka.tools.LogDirsCommand ;;
    kafka-metadata-quorum) echo org.apache.kafka.tools.MetadataQuorumCommand ;;
    kafka-console-consumer) echo org.apache.kafka.tools.consumer.ConsoleConsumer ;;
    kafka-console-producer) echo kafka.tools.ConsoleProducer ;;
    kafka-leader-election) echo org.apache.kafka.tools.LeaderElectionCommand ;;
    kafka-reassign-partitions) echo org.apache.kafka.tools.reassign.ReassignPartitionsCommand ;;
    *) return 1 ;;
  esac
}
TOOLS="kafka-consumer-groups kafka-configs kafka-topics kafka-acls kafka-get-offsets kafka-delete-records kafka-log-dirs kafka-metadata-quorum kafka-console-consumer kafka-console-producer kafka-leader-election kafka-reassign-partitions"

# Run one of Kafka's tools on the broker's classpath, logging warnings to stderr like bin/*.sh do.
tool() {
  local name="${1:-}" class
  [[ -n "$name" ]] || { echo "usage: $0 tool <name> [args...]; tools: $TOOLS" >&2; exit 2; }
  class="$(tool_class "$name")" || { echo "kafka: unknown tool '$name'; tools: $TOOLS" >&2; exit 2; }
  shift
  command -v java >/dev/null || fail "java is not on PATH; install a JDK 11+ (Kafka 3.9 runs on 11, 17, 21)"
  # Maven's progress goes to stderr: the tool's own output stays alone on stdout, for scripts.
  resolve_classpath >&2
  local log4j="$RUN_DIR/tools-log4j.properties"
  printf '%s\n' 'log4j.rootLogger=WARN, stderr' 'log4j.appender.stderr=org.apache.log4j.ConsoleAppender' \
    'log4j.appender.stderr.Target=System.err' 'log4j.appender.stderr.layout=org.apache.log4j.PatternLayout' \
    'log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n' > "$log4j"
  exec java -Xmx256m -Djava.awt.headless=true "-Dlog4j.configuration=file:$log4j" -cp "$(cat "$CLASSPATH_FILE")" "$class" "$@"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  tool) shift; tool "$@" ;;
  *) echo "usage: $0 start|stop|status|tool <name> [args...]" >&2; exit 2 ;;
esac
