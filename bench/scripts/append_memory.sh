#!/usr/bin/env bash
# Peak memory of an append-mode CSV-to-CSV query through `tidewater run` over one large CSV
# file: the memory per input byte that bench/README.md records.
#  - one CSV file of SIZE_MB megabytes (default 340), `id,user_id,amount,note` rows;
#  - the query filters and projects it into a CSV sink in append mode, available-now;
#  - for each worker count of WORKERS (default "1 2"), RUNS runs (default 3), interleaved;
#    the peak resident set (`/usr/bin/time -v`), the wall time and the rows written.
# Usage: bench/scripts/append_memory.sh [path to a release tidewater binary]
set -euo pipefail
BIN=${1:-target/release/tidewater}
SIZE_MB=${SIZE_MB:-340}
WORKERS=${WORKERS:-"1 2"}
RUNS=${RUNS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/in"

python3 - "$work/in/tx.csv" "$SIZE_MB" <<'PY'
import random, sys
path, size = sys.argv[1], int(sys.argv[2]) * 1_000_000
rng = random.Random(11)
notes = ["card", "cash", "transfer, online", "refund", "gift \"card\"", "subscription"]
with open(path, "w") as out:
    out.write("id,user_id,amount,note\n")
    written, i = 0, 0
    while written < size:
        rows = []
        for _ in range(10_000):
            note = rng.choice(notes)
            if "," in note or '"' in note:
                note = '"' + note.replace('"', '""') + '"'
            rows.append(f"{i},{rng.randrange(1_000_000)},{rng.randrange(1, 100_000)},{note}\n")
            i += 1
        block = "".join(rows)
        out.write(block)
        written += len(block)
PY
bytes=$(stat -c %s "$work/in/tx.csv")
lines=$(($(wc -l < "$work/in/tx.csv") - 1))
echo "input: $bytes bytes, $lines rows"

cat > "$work/job.sql" <<SQL
CREATE STREAM tx (id BIGINT, user_id BIGINT, amount BIGINT, note STRING)
  USING csv OPTIONS (path '$work/in', header 'true');
CREATE SINK out USING csv OPTIONS (path '$work/out', header 'true');
INSERT INTO out SELECT id, user_id, amount * 2 AS doubled, upper(note) AS note FROM tx WHERE amount > 10;
SQL

printf '| workers | run | peak RSS MiB | bytes per input byte | seconds | rows written |\n|---|---|---|---|---|---|\n'
for run in $(seq "$RUNS"); do
  for w in $WORKERS; do
    rm -rf "$work/out"
    /usr/bin/time -v "$BIN" run "$work/job.sql" --workers "$w" --trigger availableNow --no-ui \
      > /dev/null 2> "$work/time.txt"
    kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.txt")
    rows=$(cat "$work"/out/part-*.csv | grep -vc '^id,user_id,doubled,note$')
    awk -v w="$w" -v r="$run" -v kib="$kib" -v bytes="$bytes" -v wall="$wall" -v rows="$rows" \
      'BEGIN { printf "| %s | %s | %.0f | %.3f | %s | %s |\n", w, r, kib / 1024, kib * 1024 / bytes, wall, rows }'
  done
done
