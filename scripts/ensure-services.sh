#!/usr/bin/env bash
# Makes sure the services the integration tests talk to are up on this machine:
# RabbitMQ (5672), PostgreSQL (5432) and FerretDB (27017, MongoDB wire protocol on
# PostgreSQL), building FerretDB from the Go module proxy the first time.
set -euo pipefail
cd "$(dirname "$0")/.."

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
  local port=$1 name=$2
  for _ in $(seq 1 120); do port_open "$port" && return 0; sleep 1; done
  echo "ensure-services: $name did not open port $port within 120 s" >&2
  return 1
}

# RabbitMQ counts every connection and every open quorum-queue segment file against a file-handle
# budget of about the process's open-files limit. At the 1024 that `su rabbitmq` gives by default it runs
# out under the tests' hundreds of queues and then stops answering new connections (it accepts the TCP
# connection and never sends the AMQP handshake). RabbitMQ's production checklist asks for tens of
# thousands; give the rabbitmq user the most this machine allows, as limits.conf does in production.
want_files=$(ulimit -Hn)
[[ $want_files == unlimited || $want_files -gt 65536 ]] && want_files=65536
rabbit_files() {
  local pid
  pid=$(pgrep -u rabbitmq -f 'rabbit boot' | head -1) || return 1
  awk '/Max open files/ {print $4}' "/proc/$pid/limits"
}
if [[ -d /etc/security/limits.d && -w /etc/security/limits.d ]]; then
  printf 'rabbitmq soft nofile %s\nrabbitmq hard nofile %s\n' "$want_files" "$want_files" > /etc/security/limits.d/rabbitmq.conf
  current=$(rabbit_files || true)
  if [[ -n $current && $current -lt $want_files ]]; then
    echo "ensure-services: restarting RabbitMQ with $want_files open files (it runs with $current)"
    timeout 120 rabbitmqctl -q stop || { echo "ensure-services: RabbitMQ did not stop within 120 s; killing it" >&2; pkill -9 -u rabbitmq beam.smp || true; }
    for _ in $(seq 1 60); do port_open 5672 || break; sleep 1; done
  fi
fi

if ! port_open 5672; then
  echo "ensure-services: starting RabbitMQ"
  rabbitmq-server -detached
  wait_port 5672 RabbitMQ
fi
# The port opens before the broker finishes booting; wait until it answers.
for _ in $(seq 1 60); do rabbitmq-diagnostics -q check_running >/dev/null 2>&1 && break; sleep 1; done

if ! port_open 5432; then
  echo "ensure-services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  wait_port 5432 PostgreSQL
fi

# The binary is needed even when a FerretDB already listens: the store-outage test runs its own.
bin=.cache/ferretdb/ferretdb
if [[ ! -x $bin || tools/ferretdb/main.go -nt $bin || tools/ferretdb/go.sum -nt $bin ]]; then
  echo "ensure-services: building FerretDB from the Go module proxy (first run, or after tools/ferretdb changed)"
  mkdir -p .cache/ferretdb
  (cd tools/ferretdb && go build -o "../../$bin" .)
fi
if ! port_open 27017; then
  psql -h 127.0.0.1 -U postgres -tAc "select 1 from pg_database where datname='ferretdb'" | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -qc "create database ferretdb"
  echo "ensure-services: starting FerretDB on 127.0.0.1:27017"
  FERRETDB_TELEMETRY=disable DO_NOT_TRACK=1 setsid nohup "$bin" \
    --listen-addr 127.0.0.1:27017 \
    --postgresql-url "postgres://postgres@127.0.0.1:5432/ferretdb" \
    > .cache/ferretdb/ferretdb.log 2>&1 < /dev/null &
  wait_port 27017 FerretDB
fi
echo "ensure-services: RabbitMQ, PostgreSQL and FerretDB are up"
