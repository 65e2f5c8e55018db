#!/usr/bin/env bash
# Kafka -> Tidewater -> noop: how many records a second `tidewater run` reads from Kafka.
#  - a broker of its own (tansu, from the pinned virtualenv of .ci/kafka-venv) on a free
#    loopback port, in memory;
#  - RECORDS records of a line of words each over PARTITIONS partitions, written once with
#    kafka-python (not measured);
#  - the job reads the topic from the start to the end seen at start (available-now) and
#    discards the rows (noop), on 1 and 2 workers, RUNS runs each, interleaved; the time is
#    the process's whole run (start, connecting, planning, fetching, the dataflow, exit).
# Prints each run and the medians as records/s.
# Usage: bench/scripts/kafka.sh [path to a release tidewater binary]
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-target/release/tidewater}
RECORDS=${RECORDS:-1000000}
PARTITIONS=${PARTITIONS:-3}
RUNS=${RUNS:-3}
work=$(mktemp -d)
VENV="$(.ci/kafka-venv)"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$VENV/bin/tansu" broker --listener-url "tcp://127.0.0.1:$PORT" --advertised-listener-url "tcp://127.0.0.1:$PORT" \
  --storage-engine memory://tansu/ >"$work/broker.log" 2>&1 &
BROKER=$!
trap 'kill "$BROKER" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done

"$VENV/bin/python" - "127.0.0.1:$PORT" "$RECORDS" "$PARTITIONS" <<'PY'
import random, sys
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
bootstrap, records, partitions = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
KafkaAdminClient(bootstrap_servers=bootstrap).create_topics([NewTopic("bench", partitions, 1)])
rng = random.Random(7)
vocabulary = [f"w{i}".encode() for i in range(50_000)]
producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, batch_size=1 << 20)
for i in range(records):
    producer.send("bench", value=b" ".join(rng.choices(vocabulary, k=8)), partition=i % partitions)
producer.flush()
PY

cat > "$work/job.sql" <<SQL
CREATE STREAM src USING kafka OPTIONS (kafka.bootstrap.servers '127.0.0.1:$PORT', subscribe 'bench', startingOffsets 'earliest');
CREATE SINK out USING noop;
INSERT INTO out SELECT value FROM src;
SQL

run() { # $1: workers; prints seconds
  (cd "$work" && /usr/bin/time -f %e "$BIN" run job.sql --trigger availableNow --workers "$1" 2>&1 >/dev/null | tail -1)
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

one=(); two=()
for _ in $(seq "$RUNS"); do
  one+=("$(run 1)")
  two+=("$(run 2)")
done
for w in 1 2; do
  if [ "$w" = 1 ]; then times=("${one[@]}"); else times=("${two[@]}"); fi
  m=$(printf '%s\n' "${times[@]}" | median)
  echo "$RECORDS records, $PARTITIONS partitions, $w worker(s): ${times[*]} s (median $m s): $(echo "$RECORDS / $m" | bc) records/s"
done
