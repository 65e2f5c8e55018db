#!/usr/bin/env bash
# Installs PyFlink for the `flink` engine of tidewater-bench into a virtual environment.
# Idempotent: a second run checks the installed version and returns.
#
#   bash bench/flink/setup.sh
#
# Environment:
#   TIDEWATER_FLINK_VENV   where the venv goes (default: $HOME/.cache/tidewater/flink-venv);
#                          tidewater-bench looks in the same place.
#   TIDEWATER_PYFLINK      the apache-flink version (default 2.3.0; it runs on Java 17).
#   PYTHON                 the interpreter that creates the venv (default: python3).
# Flink needs a Java runtime (17 here): `apt-get install -y openjdk-17-jre-headless`.
set -euo pipefail

venv="${TIDEWATER_FLINK_VENV:-$HOME/.cache/tidewater/flink-venv}"
version="${TIDEWATER_PYFLINK:-2.3.0}"
python="${PYTHON:-python3}"

if ! command -v java >/dev/null 2>&1; then
    echo "setup.sh: no java on PATH; Flink needs a Java runtime, e.g." >&2
    echo "  apt-get install -y openjdk-17-jre-headless" >&2
    exit 1
fi

if [ ! -x "$venv/bin/python" ]; then
    echo "creating $venv"
    mkdir -p "$(dirname "$venv")"
    "$python" -m venv "$venv"
fi

# The package's version is in its metadata (pyflink itself has no __version__).
probe='import importlib.metadata as m, pyflink; print(m.version("apache-flink"))'
installed="$("$venv/bin/python" -c "$probe" 2>/dev/null || true)"
if [ "$installed" = "$version" ]; then
    echo "apache-flink $version already installed in $venv"
    exit 0
fi

echo "installing apache-flink $version into $venv (about 400 MB)"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "apache-flink==$version"
"$venv/bin/python" -c "$probe" | sed 's/^/apache-flink /; s/$/ installed/'
