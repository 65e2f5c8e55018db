"""Spark's guide program, examples/python/structured_network_wordcount.py, against a local
line server: its last complete-mode table must be the word count Python computes itself."""

import collections
import pathlib
import re
import subprocess
import sys

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "python" / "structured_network_wordcount.py"

LINES = [
    "the quick brown fox",
    "jumps over the lazy dog",
    "the dog  sleeps",  # two spaces: Spark's split keeps the empty word between them
    "fox and dog and fox",
] * 25


def last_console_table(stdout):
    """The rows of the last `Batch: N` table the console sink printed, as {word: count}."""
    blocks = re.split(r"^Batch: \d+$", stdout, flags=re.M)
    assert len(blocks) > 1, f"no batch was printed:\n{stdout}"
    rows = [line for line in blocks[-1].splitlines() if line.startswith("|")]
    header, body = rows[0], rows[1:]
    assert [c.strip() for c in header.strip("|").split("|")] == ["word", "count"]
    table = {}
    for line in body:
        word, count = [c.strip() for c in line.strip("|").split("|")]
        table[word] = int(count)
    return table


def test_the_guide_program_counts_the_words_the_server_sent(line_server, tmp_path):
    source = EXAMPLE.read_text()
    # Only the imports differ from Spark's program: the PySpark names are all there.
    assert "from tidewater.sql import SparkSession" in source
    assert 'wordCounts = words.groupBy("word").count()' in source
    # The program reads localhost:9999; this run points it at the test's own server.
    assert source.count('.option("port", 9999)') == 1
    server = line_server(LINES)
    program = tmp_path / "wordcount.py"
    program.write_text(source.replace('.option("port", 9999)', f'.option("port", {server.port})'))

    done = subprocess.run([sys.executable, str(program)], capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    reference = collections.Counter(word for line in LINES for word in line.split(" "))
    assert len(reference) <= 20, "the console sink shows 20 rows; keep the vocabulary small"
    assert last_console_table(done.stdout) == dict(reference)
