#!/usr/bin/env bash
# Runs Parley's cluster topology on one machine: three NATS servers with
# JetStream (the stream at 3 replicas), one auth, two archivers and two
# edges, against the local Redis and PostgreSQL.
#
#   scripts/cluster.sh start   # builds, starts, waits; Ctrl-C stops everything
#   scripts/cluster.sh stop    # stops a cluster started from another terminal
#   scripts/cluster.sh status  # what is running
#
# Settings (environment):
#   PARLEY_CLUSTER_DIR   data, logs and pid files (./data/cluster)
#   PARLEY_DATABASE_URL  PostgreSQL for auth and archivers
#                        (postgres://127.0.0.1:5432/parley_cluster?sslmode=disable)
#   PARLEY_REDIS_URL     Redis (redis://127.0.0.1:6379/0)
#   PARLEY_NATS_SYNC     JetStream's sync_interval (1s)
#
# Ports: NATS 14222-14224 (routes 16222-16224, monitoring 18222-18224),
# auth 18001, archivers 18002 and 18003, edges 18010 and 18011: away from
# the usual ports, so a NATS or Parley already running here is no obstacle. `parley bench` with
# the cluster's URLs is printed once everything is ready.
set -euo pipefail

cd "$(dirname "$0")/.."
DIR=${PARLEY_CLUSTER_DIR:-$PWD/data/cluster}
DB=${PARLEY_DATABASE_URL:-postgres://127.0.0.1:5432/parley_cluster?sslmode=disable}
REDIS=${PARLEY_REDIS_URL:-redis://127.0.0.1:6379/0}
# An acknowledged message is on two servers of three before anyone is
# told; each server writes it to disk within this interval. "always"
# syncs each message first, at a cost measured in the README's
# "Delivery guarantees", which also says what each setting survives.
SYNC=${PARLEY_NATS_SYNC:-1s}
NATS_URLS=nats://127.0.0.1:14222,nats://127.0.0.1:14223,nats://127.0.0.1:14224
BIN=$DIR/bin

log() { printf 'cluster: %s\n' "$*" >&2; }

build() {
	mkdir -p "$BIN"
	log "building the commands and nats-server"
	go build -o "$BIN/" ./cmd/parley ./cmd/edge ./cmd/auth ./cmd/archiver
	# nats-server is a tool dependency of the module: no install needed.
	go build -o "$BIN/nats-server" github.com/nats-io/nats-server/v2
}

# create_db makes the default database when psql can reach the server;
# a database named in PARLEY_DATABASE_URL is expected to exist.
create_db() {
	if [ -n "${PARLEY_DATABASE_URL:-}" ] || ! command -v psql >/dev/null; then
		return
	fi
	psql -q "postgres://127.0.0.1:5432/test?sslmode=disable" \
		-c 'CREATE DATABASE parley_cluster' 2>/dev/null || true
}

nats_conf() {
	local i=$1 routes=""
	for j in 1 2 3; do routes="$routes${routes:+, }nats://127.0.0.1:$((16221 + j))"; done
	cat <<EOF
server_name: n$i
listen: 127.0.0.1:$((14221 + i))
http: 127.0.0.1:$((18221 + i))
jetstream {
  store_dir: "$DIR/nats$i"
  sync_interval: $SYNC
}
cluster {
  name: parley
  listen: 127.0.0.1:$((16221 + i))
  routes: [ $routes ]
}
EOF
}

# spawn NAME CMD... starts a process in the background with its output in
# NAME.log and its pid in NAME.pid.
spawn() {
	local name=$1
	shift
	"$@" >"$DIR/$name.log" 2>&1 &
	echo $! >"$DIR/$name.pid"
	log "started $name (pid $!)"
}

wait_ready() {
	local name=$1 url=$2
	for _ in $(seq 1 300); do
		if curl -fs "$url" >/dev/null 2>&1; then return 0; fi
		if ! kill -0 "$(cat "$DIR/$name.pid")" 2>/dev/null; then
			log "$name exited; the end of $DIR/$name.log:"
			tail -20 "$DIR/$name.log" >&2
			return 1
		fi
		sleep 0.2
	done
	log "$name not ready at $url"
	return 1
}

start() {
	if status >/dev/null 2>&1; then
		log "a cluster is already running in $DIR; stop it first"
		exit 1
	fi
	build
	create_db
	mkdir -p "$DIR"
	[ -f "$DIR/signing.pem" ] || openssl genpkey -algorithm ed25519 -out "$DIR/signing.pem"
	for i in 1 2 3; do
		nats_conf "$i" >"$DIR/nats$i.conf"
		spawn "nats$i" "$BIN/nats-server" -c "$DIR/nats$i.conf"
	done
	for i in 1 2 3; do
		wait_ready "nats$i" "http://127.0.0.1:$((18221 + i))/healthz?js-enabled-only=true" || return 1
	done

	export PARLEY_DATABASE_URL=$DB PARLEY_REDIS_URL=$REDIS PARLEY_NATS_URL=$NATS_URLS
	export PARLEY_AUTH_URL=http://127.0.0.1:18001 PARLEY_LOG_FORMAT=text
	PARLEY_ADDR=127.0.0.1:18001 PARLEY_SIGNING_KEY_FILES=$DIR/signing.pem spawn auth "$BIN/auth"
	wait_ready auth http://127.0.0.1:18001/readyz || return 1
	for port in 18002 18003; do
		PARLEY_ADDR=127.0.0.1:$port PARLEY_STREAM_REPLICAS=3 spawn "archiver$port" "$BIN/archiver"
	done
	for port in 18002 18003; do wait_ready "archiver$port" "http://127.0.0.1:$port/readyz" || return 1; done
	for port in 18010 18011; do
		PARLEY_ADDR=127.0.0.1:$port spawn "edge$port" "$BIN/edge"
	done
	for port in 18010 18011; do wait_ready "edge$port" "http://127.0.0.1:$port/readyz" || return 1; done

	log "ready; logs in $DIR. Load it with:"
	log "  $BIN/parley bench -auth-url http://127.0.0.1:18001 -api-url http://127.0.0.1:18002 \\"
	log "    -edges http://127.0.0.1:18010,http://127.0.0.1:18011 -duration 60s"
}

# stop sends SIGTERM to the services, edges first and NATS last, and
# waits for each to drain.
stop() {
	local order="edge18010 edge18011 archiver18002 archiver18003 auth nats1 nats2 nats3"
	for name in $order; do
		local f=$DIR/$name.pid
		[ -f "$f" ] || continue
		local pid
		pid=$(cat "$f")
		if kill -TERM "$pid" 2>/dev/null; then
			for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
			if kill -0 "$pid" 2>/dev/null; then
				log "$name did not stop in 20s; killing it"
				kill -KILL "$pid" 2>/dev/null || true
			fi
			log "stopped $name"
		fi
		rm -f "$f"
	done
}

status() {
	local running=1
	for f in "$DIR"/*.pid; do
		[ -f "$f" ] || continue
		if kill -0 "$(cat "$f")" 2>/dev/null; then
			echo "$(basename "$f" .pid) running (pid $(cat "$f"))"
			running=0
		fi
	done
	return $running
}

case "${1:-start}" in
start)
	trap 'stop; exit 0' INT TERM
	start || { stop; exit 1; }
	# Stay in the foreground so Ctrl-C stops everything; a process that
	# dies on its own is reported, and the rest keep running.
	while true; do
		sleep 1 &
		wait $! || true
		left=0
		for f in "$DIR"/*.pid; do
			[ -f "$f" ] || continue
			left=1
			if ! kill -0 "$(cat "$f")" 2>/dev/null; then
				log "$(basename "$f" .pid) exited; see its log"
				rm -f "$f"
			fi
		done
		# Stopped from another terminal: nothing left to watch.
		[ "$left" = 1 ] || exit 0
	done
	;;
stop) stop ;;
status) status ;;
*)
	echo "usage: $0 [start|stop|status]" >&2
	exit 2
	;;
esac
