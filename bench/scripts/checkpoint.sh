#!/usr/bin/env bash
# What a checkpoint costs on the user's own path, `tidewater run` over files:
#  1. a word count of WORDS words in FILES files (one file an epoch), without and with a
#     checkpoint, RUNS runs each, interleaved; medians and their ratio;
#  2. the restart of a query whose state holds KEYS keys: the time of a run that restores it
#     and has nothing new to read, against a first run that builds it.
# Usage: bench/scripts/checkpoint.sh [path to a release tidewater binary]
set -euo pipefail
BIN=${1:-target/release/tidewater}
WORDS=${WORDS:-10000000}
FILES=${FILES:-20}
RUNS=${RUNS:-3}
KEYS=${KEYS:-1000000}
WORKERS=${WORKERS:-1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - "$work/words" "$WORDS" "$FILES" <<'PY'
import os, random, sys
out, words, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(out)
rng = random.Random(7)
vocabulary = [f"w{i}" for i in range(50_000)]
weights = [1.0 / (i + 1) for i in range(len(vocabulary))]
per_file = words // files
for f in range(files):
    picked = rng.choices(vocabulary, weights, k=per_file)
    with open(os.path.join(out, f"f{f:03}.txt"), "w") as fh:
        for i in range(0, per_file, 10):
            fh.write(" ".join(picked[i:i + 10]) + "\n")
PY
python3 - "$work/keys" "$KEYS" <<'PY'
import os, sys
out, keys = sys.argv[1], int(sys.argv[2])
os.makedirs(out)
with open(os.path.join(out, "keys.txt"), "w") as fh:
    for i in range(keys):
        fh.write(f"k{i}\n")
PY

wordcount() { # $1: run directory, $2: extra flags
  cat > "$1/job.sql" <<SQL
CREATE STREAM lines USING text OPTIONS (path '$work/words', maxFilesPerTrigger '1');
CREATE SINK out USING noop OPTIONS (outputMode 'update');
INSERT INTO out SELECT word, count(*) AS n FROM (SELECT explode(split(value, ' ')) AS word FROM lines) t GROUP BY word;
SQL
  (cd "$1" && /usr/bin/time -f %e "$BIN" run job.sql --trigger availableNow --workers "$WORKERS" $2 2>&1 >/dev/null | tail -1)
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

plain=(); checkpointed=()
for r in $(seq "$RUNS"); do
  d=$(mktemp -d -p "$work"); plain+=("$(wordcount "$d" "")")
  d=$(mktemp -d -p "$work"); checkpointed+=("$(wordcount "$d" "--checkpoint ck")")
done
p=$(printf '%s\n' "${plain[@]}" | median)
c=$(printf '%s\n' "${checkpointed[@]}" | median)
echo "word count, $WORDS words, $FILES epochs, $WORKERS worker(s): without ${plain[*]} s (median $p), with a checkpoint ${checkpointed[*]} s (median $c); ratio $(echo "scale=2; $c / $p" | bc)"

state=$(mktemp -d -p "$work")
cat > "$state/job.sql" <<SQL
CREATE STREAM lines USING text OPTIONS (path '$work/keys');
CREATE SINK out USING noop OPTIONS (outputMode 'update');
INSERT INTO out SELECT value, count(*) AS n FROM lines GROUP BY value;
SQL
first=$(cd "$state" && /usr/bin/time -f %e "$BIN" run job.sql --trigger availableNow --workers "$WORKERS" --checkpoint ck 2>&1 >/dev/null | tail -1)
restores=()
for r in $(seq "$RUNS"); do
  restores+=("$(cd "$state" && /usr/bin/time -f %e "$BIN" run job.sql --trigger availableNow --workers "$WORKERS" --checkpoint ck 2>&1 >/dev/null | tail -1)")
done
echo "state of $KEYS keys: the first run that builds it ${first} s; restarts that restore it ${restores[*]} s (median $(printf '%s\n' "${restores[@]}" | median)); state on disk $(du -sh "$state/ck/out/state" | cut -f1)"
