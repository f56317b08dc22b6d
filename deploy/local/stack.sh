#!/usr/bin/env bash
# stack.sh runs the local stack of drivetrain (docs/design.md, The local stack) on one machine,
# without Docker: PostgreSQL 15, Kafka 4.4 (KRaft), Kafka Connect 4.3 with the
# Debezium PostgreSQL connector 3.6, and ClickHouse. Everything binds to 127.0.0.1
# on non-default ports and keeps its data, logs, pid files and jars under
# <repo>/.stack/.
#
#   stack.sh up              start what is not running, wait until ready, write .stack/env
#   stack.sh down            stop everything this stack started
#   stack.sh status [--quiet]  one line per service; --quiet: exit 0 iff all are up
#   stack.sh env             print .stack/env
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
HERE=$ROOT/deploy/local
STACK=$ROOT/.stack
RUN=$STACK/run
LOGS=$STACK/logs
LIB=$STACK/lib
ENV_FILE=$STACK/env

PG_BIN=/usr/lib/postgresql/15/bin
PG_USER=postgres # the unprivileged system user of Debian's package; PostgreSQL refuses root
PG_DIR=$STACK/postgres
PGDATA=$PG_DIR/data
PG_PORT=15432
PG_DB=ecommerce
PG_ROLE=drivetrain
PG_PASSWORD=drivetrain

KAFKA_PORT=19092
CONTROLLER_PORT=19093
# A second listener, SASL_SSL: TLS with a certificate of a CA made by this
# script (.stack/kafka/tls/ca.crt) and SCRAM-SHA-256/512 users, which
# clients create through the admin API over the plaintext listener.
KAFKA_SASL_PORT=19094
KAFKA_TLS=$STACK/kafka/tls
# The password of the broker's PKCS12 keystore: it guards a key made for
# this machine's stack and nothing else.
KAFKA_KEYSTORE_PASSWORD=drivetrain-local
# A fixed KRaft cluster id: base64url("drivetrain-local") is 16 bytes, as a
# Kafka Uuid must be.
KAFKA_CLUSTER_ID=ZHJpdmV0cmFpbi1sb2NhbA
KAFKA_HEAP="-Xms64m -Xmx384m"

CONNECT_PORT=18083
CONNECT_HEAP="-Xms64m -Xmx512m"
DEBEZIUM_CLASS=io.debezium.connector.postgresql.PostgresConnector

CH_DIR=$STACK/clickhouse
CH_HTTP_PORT=18123
CH_TCP_PORT=19000

SERVICES=(postgres kafka connect clickhouse)

# Readiness timeouts, in seconds.
declare -A READY_TIMEOUT=([postgres]=60 [kafka]=120 [connect]=240 [clickhouse]=60)

say() { echo "stack: $*"; }
die() {
	echo "stack: $*" >&2
	exit 1
}
log_of() { echo "$LOGS/$1.log"; }

# fail reports a service that could not be started, in one line, and stops.
fail() { die "$1 failed to start: $2; see $(log_of "$1")"; }

# ---------------------------------------------------------------------------
# prerequisites

apt_updated=false

# apt_install installs Debian packages, saying why; only root can.
apt_install() {
	local why=$1
	shift
	if [[ $(id -u) -ne 0 ]]; then
		die "$why: missing; install it with: sudo apt-get install -y $*"
	fi
	say "$why: missing; installing Debian packages $* with apt-get (log: $LOGS/apt.log)"
	if ! $apt_updated; then
		DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$LOGS/apt.log" 2>&1 ||
			die "apt-get update failed; see $LOGS/apt.log"
		apt_updated=true
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >>"$LOGS/apt.log" 2>&1 ||
		die "apt-get install $* failed; see $LOGS/apt.log"
}

need_tools() {
	command -v curl >/dev/null || apt_install "curl (readiness checks)" curl
	command -v runuser >/dev/null || apt_install "runuser" util-linux
	command -v flock >/dev/null || apt_install "flock" util-linux
	command -v openssl >/dev/null || apt_install "openssl (the CA and certificate of Kafka's SASL_SSL listener)" openssl
	# The dashboard's browser test (cmd/drivetrain, TestIntegrationDashboard).
	command -v chromium >/dev/null || apt_install "Chromium (headless, for the dashboard's browser test)" chromium fonts-liberation
}

need_postgres() {
	[[ -x $PG_BIN/postgres && -x $PG_BIN/psql ]] ||
		apt_install "PostgreSQL 15 ($PG_BIN)" postgresql-15 postgresql-client-15
	[[ $(id -u) -ne 0 ]] || id -u "$PG_USER" >/dev/null 2>&1 || die "system user $PG_USER is missing (it comes with the postgresql-15 package)"
}

need_java() {
	if ! command -v java >/dev/null; then
		apt_install "Java 17 runtime (Kafka, Connect)" openjdk-17-jre-headless
	fi
	local v
	v=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
	[[ ${v%%.*} -ge 17 ]] || die "java $v found; Kafka 4 needs Java 17 or newer"
}

need_clickhouse() {
	command -v clickhouse-server >/dev/null ||
		apt_install "ClickHouse server (Debian's clickhouse-server)" clickhouse-server clickhouse-client
}

# ---------------------------------------------------------------------------
# jars

# fetch_jars copies the jars of one pom.xml profile into a folder, with Maven
# and its default local repository (~/.m2) as the cache, unless the folder
# already holds the jars of the current pom.
fetch_jars() {
	local profile=$1 dir=$2 stamp
	stamp=$(sha256sum "$HERE/pom.xml" | cut -c1-64)
	if [[ -f $dir/.fetched && $(cat "$dir/.fetched") == "$stamp" ]]; then
		return 0
	fi
	need_java
	command -v mvn >/dev/null || apt_install "Maven (fetches the Kafka and Debezium jars)" maven
	say "copying the $profile jars into ${dir#"$ROOT"/} with mvn (downloads what ~/.m2 lacks; log: $LOGS/mvn.log)"
	local tmp=$LIB/.fetching-$profile
	rm -rf "$tmp"
	mkdir -p "$tmp"
	if ! mvn -B -q -Dstyle.color=never -f "$HERE/pom.xml" -P "$profile" \
		dependency:copy-dependencies -DoutputDirectory="$tmp" >>"$LOGS/mvn.log" 2>&1; then
		rm -rf "$tmp"
		die "jars: mvn could not fetch the $profile jars; see $LOGS/mvn.log"
	fi
	rm -rf "$dir"
	mkdir -p "$(dirname "$dir")"
	mv "$tmp" "$dir"
	echo "$stamp" >"$dir/.fetched"
}

# ---------------------------------------------------------------------------
# processes

# port_open tells whether something accepts TCP connections on 127.0.0.1:$1.
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# pid_of prints the pid recorded for a service if that process is alive and
# is ours (its command line names this stack's folder), else fails.
pid_of() {
	local f=$RUN/$1.pid pid
	[[ -s $f ]] || return 1
	pid=$(<"$f")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[[ -r /proc/$pid/cmdline ]] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$STACK/" || return 1
	echo "$pid"
}

ports_of() {
	case $1 in
	postgres) echo "$PG_PORT" ;;
	kafka) echo "$KAFKA_PORT $CONTROLLER_PORT $KAFKA_SASL_PORT" ;;
	connect) echo "$CONNECT_PORT" ;;
	clickhouse) echo "$CH_HTTP_PORT $CH_TCP_PORT" ;;
	esac
}

# kafka_ping sends a Kafka ApiVersions v0 request (correlation id 7) and
# checks that the broker answers it without error: the broker has finished
# starting and serves requests.
kafka_ping() {
	local out
	out=$(timeout 3 bash -c '
		exec 3<>/dev/tcp/127.0.0.1/'"$KAFKA_PORT"' || exit 1
		printf "\x00\x00\x00\x0f\x00\x12\x00\x00\x00\x00\x00\x07\x00\x05stack" >&3
		head -c 10 <&3 | od -An -tx1 | tr -d " \n"' 2>/dev/null) || return 1
	[[ $out == ????????000000070000 ]]
}

# ready tells whether a service answers as it should.
ready() {
	case $1 in
	postgres) "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -d "$PG_DB" -U "$PG_ROLE" 2>/dev/null ;;
	kafka) kafka_ping && port_open "$KAFKA_SASL_PORT" ;;
	connect)
		curl -sf --max-time 5 "http://127.0.0.1:$CONNECT_PORT/connector-plugins" 2>/dev/null |
			grep -qF "\"$DEBEZIUM_CLASS\""
		;;
	clickhouse) [[ $(curl -s --max-time 3 "http://127.0.0.1:$CH_HTTP_PORT/ping" 2>/dev/null) == "Ok." ]] ;;
	esac
}

# already_running says so and succeeds when a service of ours runs; it
# clears a stale pid file, and fails the start when another process holds
# one of the service's ports.
already_running() {
	local svc=$1 pid port
	if pid=$(pid_of "$svc"); then
		if ready "$svc"; then
			say "$svc already running (pid $pid)"
			return 0
		fi
		wait_ready "$svc" "$pid"
		say "$svc already running (pid $pid)"
		return 0
	fi
	rm -f "$RUN/$svc.pid"
	for port in $(ports_of "$svc"); do
		if port_open "$port"; then
			fail "$svc" "port 127.0.0.1:$port is taken by a process that is not this stack's ($STACK)"
		fi
	done
	return 1
}

# wait_ready waits until a service answers, failing when its process exits
# or the timeout passes.
wait_ready() {
	local svc=$1 pid=$2 timeout=${READY_TIMEOUT[$1]} start=$SECONDS
	until ready "$svc"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			rm -f "$RUN/$svc.pid"
			fail "$svc" "the process exited"
		fi
		if ((SECONDS - start >= timeout)); then
			stop_pid "$svc" "$pid" TERM >/dev/null 2>&1 || true
			rm -f "$RUN/$svc.pid"
			fail "$svc" "not ready within ${timeout}s"
		fi
		sleep 0.5
	done
}

# launch starts a command in its own session, detached from the terminal,
# output appended to the service's log, and records its pid.
launch() {
	local svc=$1 log
	shift
	log=$(log_of "$svc")
	rotate_log "$log"
	echo "=== $(date -u +%FT%TZ) stack.sh starting $svc" >>"$log"
	# fd 9 is the lock of up/down: services must not inherit it.
	setsid "$@" >>"$log" 2>&1 </dev/null 9>&- &
	echo $! >"$RUN/$svc.pid"
}

# rotate_log keeps one previous log once a log passes 64 MiB.
rotate_log() {
	if [[ -f $1 && $(stat -c %s "$1") -gt 67108864 ]]; then
		mv -f "$1" "$1.1"
	fi
}

# stop_pid stops a process: a signal (TERM unless told), a wait, then KILL.
stop_pid() {
	local svc=$1 pid=$2 sig=${3:-TERM} i
	kill -"$sig" "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 120; i++)); do # 60 s
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.5
	done
	say "$svc (pid $pid) did not stop within 60s; killing it"
	kill -KILL "$pid" 2>/dev/null || true
	for ((i = 0; i < 20; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.5
	done
}

java_opts() {
	# $1: heap flags
	echo "$1 -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true -Djava.net.preferIPv4Stack=true
		-Djava.io.tmpdir=$STACK/tmp -Dlog4j2.configurationFile=$STACK/conf/log4j2.properties"
}

write_log4j2() {
	mkdir -p "$STACK/conf"
	cat >"$STACK/conf/log4j2.properties" <<'EOF'
# Generated by deploy/local/stack.sh: Kafka and Connect log to stdout, which
# stack.sh appends to .stack/logs/<service>.log.
status = warn
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
# The full dumps of every client's configuration.
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = WARN
logger.appinfo.name = org.apache.kafka.common.utils.AppInfoParser
logger.appinfo.level = WARN
logger.appinfo44.name = org.apache.kafka.common.utils.internals.AppInfoParser
logger.appinfo44.level = WARN
logger.reflections.name = org.reflections
logger.reflections.level = ERROR
EOF
}

# ---------------------------------------------------------------------------
# PostgreSQL

# pg_as runs a PostgreSQL program as the cluster's owner: $PG_USER when we
# are root (PostgreSQL refuses root), else ourselves.
pg_as() {
	if [[ $(id -u) -eq 0 ]]; then
		(cd "$PG_DIR" && runuser -u "$PG_USER" -- "$@")
	else
		(cd "$PG_DIR" && "$@")
	fi
}

# pg_own gives files to the cluster's owner.
pg_own() { [[ $(id -u) -ne 0 ]] || chown "$PG_USER:" "$@"; }

psql_run() {
	PGPASSWORD=$PG_PASSWORD PGOPTIONS='-c client_min_messages=warning' \
		"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U "$PG_ROLE" "$@"
}

# pg_reachable lets the postgres user reach the data folder: it grants
# search permission (o+x, not read) on the folders above it that deny it.
pg_reachable() {
	[[ $(id -u) -eq 0 ]] || return 0
	runuser -u "$PG_USER" -- test -x "$PG_DIR" && return 0
	local d="" part parts
	IFS=/ read -ra parts <<<"${PG_DIR#/}"
	for part in "${parts[@]}"; do
		d=$d/$part
		if ! runuser -u "$PG_USER" -- test -x "$d"; then
			chmod o+x "$d"
			say "granted search permission (chmod o+x) on $d so that user $PG_USER reaches $PG_DIR"
		fi
	done
}

pg_up() {
	already_running postgres && return 0
	local t0=$SECONDS
	need_postgres
	local log
	log=$(log_of postgres)
	mkdir -p "$PG_DIR"
	pg_own "$PG_DIR"
	pg_reachable
	rotate_log "$log"
	touch "$log"
	pg_own "$log"
	if [[ ! -s $PGDATA/PG_VERSION ]]; then
		say "postgres: creating the cluster in ${PGDATA#"$ROOT"/}"
		rm -rf "$PGDATA"
		local pwfile=$PG_DIR/.pwfile
		(umask 077 && echo "$PG_PASSWORD" >"$pwfile")
		pg_own "$pwfile"
		if ! pg_as "$PG_BIN/initdb" -D "$PGDATA" -U "$PG_ROLE" --pwfile="$pwfile" \
			--auth-local=peer --auth-host=scram-sha-256 --encoding=UTF8 --no-locale >>"$log" 2>&1; then
			rm -f "$pwfile"
			fail postgres "initdb failed"
		fi
		rm -f "$pwfile"
		echo "include_if_exists = 'drivetrain.conf'" >>"$PGDATA/postgresql.conf"
	fi
	# Settings are rewritten on every start, so edits here reach old clusters.
	cat >"$PGDATA/drivetrain.conf" <<EOF
# Generated by deploy/local/stack.sh on every start.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = ''
max_connections = 100
shared_buffers = 128MB
wal_level = logical
max_wal_senders = 10
max_replication_slots = 10
# An abandoned replication slot may not fill the disk.
max_slot_wal_keep_size = 2GB
timezone = 'UTC'
log_timezone = 'UTC'
log_line_prefix = '%m [%p] %q%u@%d '
EOF
	pg_own "$PGDATA/drivetrain.conf"
	echo "=== $(date -u +%FT%TZ) stack.sh starting postgres" >>"$log"
	pg_as "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$log" -w -t "${READY_TIMEOUT[postgres]}" start >/dev/null 2>&1 9>&- ||
		fail postgres "pg_ctl start failed"
	head -1 "$PGDATA/postmaster.pid" >"$RUN/postgres.pid"
	wait_ready postgres "$(<"$RUN/postgres.pid")"
	psql_run -d postgres -c "ALTER ROLE $PG_ROLE WITH LOGIN SUPERUSER REPLICATION PASSWORD '$PG_PASSWORD'" >>"$log" 2>&1 ||
		fail postgres "setting up role $PG_ROLE failed"
	if [[ -z $(psql_run -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'" 2>>"$log") ]]; then
		psql_run -d postgres -c "CREATE DATABASE $PG_DB" >>"$log" 2>&1 || fail postgres "creating database $PG_DB failed"
	fi
	psql_run -d "$PG_DB" -f "$ROOT/deploy/postgres/schema.sql" >>"$log" 2>&1 ||
		fail postgres "applying deploy/postgres/schema.sql failed"
	say "postgres up (pid $(<"$RUN/postgres.pid"), 127.0.0.1:$PG_PORT, database $PG_DB, $((SECONDS - t0))s)"
}

pg_down() {
	local pid
	pid=$(pid_of postgres) || {
		rm -f "$RUN/postgres.pid"
		return 0
	}
	# SIGINT is PostgreSQL's fast shutdown: it does not wait for clients.
	stop_pid postgres "$pid" INT
	rm -f "$RUN/postgres.pid"
	say "postgres stopped"
}

# ---------------------------------------------------------------------------
# Kafka

# kafka_tls makes, once, a CA and the broker's certificate for the SASL_SSL
# listener: ca.crt is the file clients trust, broker.p12 the broker's
# keystore (key and chain). The CA's key is deleted once it has signed.
kafka_tls() {
	local d=$KAFKA_TLS
	[[ -s $d/ca.crt && -s $d/broker.p12 ]] && return 0
	mkdir -p "$d"
	{
		openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=drivetrain local stack CA" \
			-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
			-keyout "$d/ca.key" -out "$d/ca.crt" &&
			openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$d/broker.key" -out "$d/broker.csr" &&
			openssl x509 -req -in "$d/broker.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -set_serial "0x$(openssl rand -hex 8)" \
				-days 3650 -out "$d/broker.crt" -extfile <(printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" \
				"basicConstraints=CA:FALSE" "keyUsage=digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth") &&
			openssl pkcs12 -export -in "$d/broker.crt" -inkey "$d/broker.key" -certfile "$d/ca.crt" -name broker \
				-out "$d/broker.p12" -passout "pass:$KAFKA_KEYSTORE_PASSWORD"
	} >>"$(log_of kafka)" 2>&1 || fail kafka "making the SASL_SSL listener's certificates in ${d#"$ROOT"/} failed"
	rm -f "$d/ca.key" "$d/broker.csr" "$d/broker.key"
	say "kafka: made a CA and the broker certificate for the SASL_SSL listener in ${d#"$ROOT"/}"
}

kafka_up() {
	local pid
	# A broker started by an older stack.sh has no SASL_SSL listener:
	# restart it with the current configuration.
	if pid=$(pid_of kafka) && kafka_ping && ! port_open "$KAFKA_SASL_PORT"; then
		say "kafka (pid $pid) has no SASL_SSL listener on 127.0.0.1:$KAFKA_SASL_PORT; restarting it"
		stop_pid kafka "$pid" TERM
		rm -f "$RUN/kafka.pid"
	fi
	already_running kafka && return 0
	local t0=$SECONDS
	need_java
	fetch_jars kafka "$LIB/kafka"
	local dir=$STACK/kafka
	mkdir -p "$dir/data"
	kafka_tls
	cat >"$dir/server.properties" <<EOF
# Generated by deploy/local/stack.sh: one KRaft node, broker and controller.
node.id=1
process.roles=broker,controller
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT,SASL_SSL://127.0.0.1:$KAFKA_SASL_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,SASL_SSL://127.0.0.1:$KAFKA_SASL_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL
# SASL_SSL: SCRAM users live in the cluster metadata (created with the admin
# API); no authorizer, so an authenticated user may do anything.
sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.ssl.keystore.type=PKCS12
listener.name.sasl_ssl.ssl.keystore.location=$KAFKA_TLS/broker.p12
listener.name.sasl_ssl.ssl.keystore.password=$KAFKA_KEYSTORE_PASSWORD
listener.name.sasl_ssl.ssl.key.password=$KAFKA_KEYSTORE_PASSWORD
listener.name.sasl_ssl.ssl.client.auth=none
log.dirs=$dir/data
num.network.threads=2
num.io.threads=4
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.cleaner.dedupe.buffer.size=33554432
EOF
	if [[ ! -f $dir/data/meta.properties ]]; then
		say "kafka: formatting KRaft storage in ${dir#"$ROOT"/}/data (cluster id $KAFKA_CLUSTER_ID)"
		# shellcheck disable=SC2046
		java $(java_opts "-Xmx256m") -cp "$LIB/kafka/*" kafka.tools.StorageTool format \
			-t "$KAFKA_CLUSTER_ID" -c "$dir/server.properties" --ignore-formatted >>"$(log_of kafka)" 2>&1 ||
			fail kafka "formatting the KRaft storage failed"
	fi
	# shellcheck disable=SC2046
	launch kafka java $(java_opts "$KAFKA_HEAP") -cp "$LIB/kafka/*" kafka.Kafka "$dir/server.properties"
	wait_ready kafka "$(<"$RUN/kafka.pid")"
	say "kafka up (pid $(<"$RUN/kafka.pid"), 127.0.0.1:$KAFKA_PORT, SASL_SSL 127.0.0.1:$KAFKA_SASL_PORT, controller 127.0.0.1:$CONTROLLER_PORT, $((SECONDS - t0))s)"
}

# ---------------------------------------------------------------------------
# Kafka Connect

# connect_properties prints the worker's configuration.
connect_properties() {
	cat <<EOF
# Generated by deploy/local/stack.sh: one distributed Connect worker.
bootstrap.servers=127.0.0.1:$KAFKA_PORT
group.id=drivetrain-connect
listeners=http://127.0.0.1:$CONNECT_PORT
rest.advertised.host.name=127.0.0.1
rest.advertised.port=$CONNECT_PORT
plugin.path=$LIB/plugins
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=true
value.converter.schemas.enable=true
config.storage.topic=_connect-configs
offset.storage.topic=_connect-offsets
status.storage.topic=_connect-status
config.storage.replication.factor=1
offset.storage.replication.factor=1
status.storage.replication.factor=1
offset.storage.partitions=5
status.storage.partitions=1
offset.flush.interval.ms=10000
topic.creation.enable=true
# Every plugin here ships ServiceLoader manifests: no slow reflective scan.
plugin.discovery=service_load
# One worker: a restarted worker gets its tasks back at once.
scheduled.rebalance.max.delay.ms=0
# Secrets stay out of connector configs: deploy/debezium/connector.json
# says database.password=\${env:DRIVETRAIN_PG_PASSWORD}, which this worker
# resolves from its own environment (stack.sh sets it; no other variable
# may be read) each time the connector starts. Connect stores and shows the
# reference, never the password.
config.providers=env
config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider
config.providers.env.param.allowlist.pattern=^DRIVETRAIN_PG_PASSWORD\$
EOF
}

connect_up() {
	local dir=$STACK/connect props pid
	props=$(connect_properties)
	# A worker running with other settings (started by an older stack.sh)
	# is restarted to take these; the connector resumes from its offsets.
	if pid=$(pid_of connect) && [[ $(cat "$dir/connect-distributed.properties" 2>/dev/null) != "$props" ]]; then
		say "connect: its settings changed; restarting it (pid $pid)"
		stop_pid connect "$pid" TERM
		rm -f "$RUN/connect.pid"
	fi
	already_running connect && return 0
	local t0=$SECONDS
	need_java
	fetch_jars connect "$LIB/connect"
	fetch_jars debezium "$LIB/plugins/debezium-postgres"
	mkdir -p "$dir"
	printf '%s\n' "$props" >"$dir/connect-distributed.properties"
	# The database password reaches the worker through its environment
	# only: not on a command line, not in a file of the repository.
	# shellcheck disable=SC2046
	DRIVETRAIN_PG_PASSWORD=$PG_PASSWORD launch connect java $(java_opts "$CONNECT_HEAP") -cp "$LIB/connect/*" \
		org.apache.kafka.connect.cli.ConnectDistributed "$dir/connect-distributed.properties"
	wait_ready connect "$(<"$RUN/connect.pid")"
	say "connect up (pid $(<"$RUN/connect.pid"), http://127.0.0.1:$CONNECT_PORT, Debezium PostgreSQL plugin loaded, $((SECONDS - t0))s)"
}

# ---------------------------------------------------------------------------
# ClickHouse

clickhouse_up() {
	already_running clickhouse && return 0
	local t0=$SECONDS
	need_clickhouse
	mkdir -p "$CH_DIR"/{data,tmp,user_files,format_schemas}
	cat >"$CH_DIR/config.xml" <<EOF
<?xml version="1.0"?>
<!-- Generated by deploy/local/stack.sh: a private ClickHouse on loopback. -->
<yandex>
    <logger>
        <level>information</level>
        <log>$LOGS/clickhouse.log</log>
        <errorlog>$LOGS/clickhouse.err.log</errorlog>
        <size>64M</size>
        <count>2</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>$CH_HTTP_PORT</http_port>
    <tcp_port>$CH_TCP_PORT</tcp_port>
    <max_connections>1024</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>100</max_concurrent_queries>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <mark_cache_size>268435456</mark_cache_size>
    <path>$CH_DIR/data/</path>
    <tmp_path>$CH_DIR/tmp/</tmp_path>
    <user_files_path>$CH_DIR/user_files/</user_files_path>
    <format_schema_path>$CH_DIR/format_schemas/</format_schema_path>
    <include_from>$CH_DIR/substitutions.xml</include_from>
    <users_config>users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
    <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
    <max_session_timeout>3600</max_session_timeout>
    <default_session_timeout>60</default_session_timeout>
</yandex>
EOF
	# An empty substitutions file, so that /etc/metrika.xml is never read.
	echo '<?xml version="1.0"?><yandex/>' >"$CH_DIR/substitutions.xml"
	cat >"$CH_DIR/users.xml" <<'EOF'
<?xml version="1.0"?>
<!-- Generated by deploy/local/stack.sh: user default, no password, loopback only. -->
<yandex>
    <profiles>
        <default>
            <max_memory_usage>4000000000</max_memory_usage>
            <use_uncompressed_cache>0</use_uncompressed_cache>
            <load_balancing>random</load_balancing>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>::1</ip>
                <ip>127.0.0.1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
EOF
	(cd "$CH_DIR" && launch clickhouse clickhouse-server --config-file="$CH_DIR/config.xml")
	wait_ready clickhouse "$(<"$RUN/clickhouse.pid")"
	say "clickhouse up (pid $(<"$RUN/clickhouse.pid"), http://127.0.0.1:$CH_HTTP_PORT, native 127.0.0.1:$CH_TCP_PORT, $((SECONDS - t0))s)"
}

# ---------------------------------------------------------------------------
# commands

write_env() {
	cat >"$ENV_FILE" <<EOF
export DRIVETRAIN_POSTGRES_DSN='postgres://$PG_ROLE:$PG_PASSWORD@127.0.0.1:$PG_PORT/$PG_DB?sslmode=disable'
export DRIVETRAIN_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
export DRIVETRAIN_CONNECT_URL=http://127.0.0.1:$CONNECT_PORT
export DRIVETRAIN_CLICKHOUSE_URL=http://127.0.0.1:$CH_HTTP_PORT
# Kafka's SASL_SSL listener and the CA that signed its certificate, for the
# tests that connect through TLS and SCRAM (not read by drivetrain itself).
export DRIVETRAIN_TEST_KAFKA_SASL_SSL=127.0.0.1:$KAFKA_SASL_PORT
export DRIVETRAIN_TEST_KAFKA_CA_FILE=$KAFKA_TLS/ca.crt
EOF
}

lock() {
	exec 9>"$RUN/lock"
	flock -w 900 9 || die "another stack.sh up/down holds $RUN/lock"
}

cmd_up() {
	local start=$SECONDS
	mkdir -p "$RUN" "$LOGS" "$LIB" "$STACK/tmp"
	need_tools
	lock
	write_log4j2
	pg_up
	kafka_up
	connect_up
	clickhouse_up
	write_env
	say "all up in $((SECONDS - start))s; environment in ${ENV_FILE#"$ROOT"/} (source it, or: deploy/local/stack.sh env)"
	echo "  postgres    127.0.0.1:$PG_PORT  db $PG_DB, user $PG_ROLE/$PG_PASSWORD"
	echo "  kafka       127.0.0.1:$KAFKA_PORT (controller $CONTROLLER_PORT; SASL_SSL $KAFKA_SASL_PORT, CA ${KAFKA_TLS#"$ROOT"/}/ca.crt)"
	echo "  connect     http://127.0.0.1:$CONNECT_PORT"
	echo "  clickhouse  http://127.0.0.1:$CH_HTTP_PORT (native $CH_TCP_PORT), user default"
	echo "  logs        ${LOGS#"$ROOT"/}/<service>.log"
}

cmd_down() {
	mkdir -p "$RUN"
	lock
	local svc pid i port busy=() f
	# drivetrain nodes started by `drivetrain demo` go first (SIGTERM: they
	# flush, commit and leave the group).
	for f in "$RUN"/drivetrain-*.pid; do
		[[ -e $f ]] || continue
		svc=$(basename "$f" .pid)
		if pid=$(pid_of "$svc"); then
			stop_pid "$svc" "$pid" TERM
			say "$svc stopped"
		fi
		rm -f "$f"
	done
	for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
		svc=${SERVICES[i]}
		if [[ $svc == postgres ]]; then
			pg_down
			continue
		fi
		if pid=$(pid_of "$svc"); then
			stop_pid "$svc" "$pid" TERM
			say "$svc stopped"
		fi
		rm -f "$RUN/$svc.pid"
	done
	for svc in "${SERVICES[@]}"; do
		for port in $(ports_of "$svc"); do
			port_open "$port" && busy+=("$svc:$port")
		done
	done
	if ((${#busy[@]} > 0)); then
		die "still listening after down: ${busy[*]} (not started by this stack, or not stopped)"
	fi
	say "down"
}

cmd_status() {
	local quiet=false svc pid state all=true
	[[ ${1:-} == --quiet || ${1:-} == -q ]] && quiet=true
	for svc in "${SERVICES[@]}"; do
		if pid=$(pid_of "$svc"); then
			if ready "$svc"; then state=up; else
				state=not-ready
				all=false
			fi
		else
			pid=-
			state=down
			all=false
		fi
		$quiet && { $all && continue || return 3; }
		printf '%-10s %-9s pid %-7s 127.0.0.1:%-12s %s\n' "$svc" "$state" "$pid" \
			"$(ports_of "$svc" | tr ' ' ,)" "$(log_of "$svc")"
	done
	$all || return 3
}

cmd_env() {
	[[ -f $ENV_FILE ]] || die "no $ENV_FILE yet; run: deploy/local/stack.sh up"
	cat "$ENV_FILE"
}

usage() {
	sed -n '2,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

case ${1:-} in
up) cmd_up ;;
down) cmd_down ;;
status)
	shift
	cmd_status "$@"
	;;
env) cmd_env ;;
-h | --help | help) usage ;;
*)
	usage >&2
	exit 2
	;;
esac
