"""Shared helpers of the Python suite: a session, input folders, a line server, and a way to
run a query to its end and keep what it wrote."""

import socket
import threading

import pytest

from tidewater.sql import SparkSession


@pytest.fixture(scope="session")
def spark():
    """One worker; tests of two workers build their own session with master("local[2]")."""
    return SparkSession.builder.appName("tidewater-tests").master("local[1]").getOrCreate()


@pytest.fixture
def text_dir(tmp_path):
    """A folder with a text file of lines; returns (folder, lines)."""

    def make(lines, name="part-0.txt"):
        folder = tmp_path / "in"
        folder.mkdir(exist_ok=True)
        (folder / name).write_text("".join(line + "\n" for line in lines))
        return str(folder)

    return make


def run_to_end(df, mode="append"):
    """Runs `df` with trigger availableNow and foreachBatch; returns the batches as
    [(batch_id, [Row])] in the order they came."""
    batches = []

    def keep(batch_df, batch_id):
        batches.append((batch_id, batch_df.collect()))

    query = df.writeStream.outputMode(mode).trigger(availableNow=True).foreachBatch(keep).start()
    assert query.awaitTermination(60), "the query did not end within 60 s"
    return batches


class LineServer:
    """A TCP server on a free loopback port that sends `lines` to the first client, then
    closes the connection (which ends Tidewater's socket source)."""

    def __init__(self, lines):
        self.lines = lines
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        conn, _ = self.sock.accept()
        with conn:
            conn.sendall("".join(line + "\n" for line in self.lines).encode())
        self.sock.close()


@pytest.fixture
def line_server():
    return LineServer
