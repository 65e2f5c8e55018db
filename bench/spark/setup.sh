#!/usr/bin/env bash
# Installs PySpark for the `spark` engine of tidewater-bench into a virtual environment.
# Idempotent: a second run checks the installed version and returns.
#
#   bash bench/spark/setup.sh
#
# Environment:
#   TIDEWATER_SPARK_VENV   where the venv goes (default: $HOME/.cache/tidewater/spark-venv);
#                          tidewater-bench looks in the same place.
#   TIDEWATER_PYSPARK      the PySpark version (default 3.5.8; 3.5 runs on Java 17).
#   PYTHON                 the interpreter that creates the venv (default: python3).
# Spark needs a Java runtime (17 here): `apt-get install -y openjdk-17-jre-headless`.
set -euo pipefail

venv="${TIDEWATER_SPARK_VENV:-$HOME/.cache/tidewater/spark-venv}"
version="${TIDEWATER_PYSPARK:-3.5.8}"
python="${PYTHON:-python3}"

if ! command -v java >/dev/null 2>&1; then
    echo "setup.sh: no java on PATH; Spark needs a Java runtime, e.g." >&2
    echo "  apt-get install -y openjdk-17-jre-headless" >&2
    exit 1
fi

if [ ! -x "$venv/bin/python" ]; then
    echo "creating $venv"
    mkdir -p "$(dirname "$venv")"
    "$python" -m venv "$venv"
fi

installed="$("$venv/bin/python" -c 'import pyspark; print(pyspark.__version__)' 2>/dev/null || true)"
if [ "$installed" = "$version" ]; then
    echo "pyspark $version already installed in $venv"
    exit 0
fi

echo "installing pyspark $version into $venv (about 320 MB)"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "pyspark==$version"
"$venv/bin/python" -c 'import pyspark; print("pyspark", pyspark.__version__, "installed")'
