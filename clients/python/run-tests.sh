#!/usr/bin/env bash
# Tests the Python client against the real relbert binary. Idempotent: sets up (or reuses) a virtualenv
# in clients/python/build/venv, generates the protobuf modules into clients/python/build/gen, then runs
# test_client.py.
#   RELBERT   the binary (default .build/release/relbert)    } relative paths are taken from the
#   MODEL     the model folder (default models/all-MiniLM-L6-v2) } repository root
#   RELBERT_REQUIRE_SERVE=1   fail, rather than skip, the serve tests when `relbert serve` is missing
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD="$HERE/build"
VENV="$BUILD/venv"
GEN="$BUILD/gen"
export RELBERT="${RELBERT:-.build/release/relbert}"
export MODEL="${MODEL:-models/all-MiniLM-L6-v2}"

as_root_install() {  # apt-get install, when we may
    if [ "$(id -u)" -ne 0 ]; then
        echo "run-tests.sh: missing $*; install it (apt-get install $*) or run as root" >&2
        exit 1
    fi
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

mkdir -p "$BUILD"

# The virtualenv.
if [ ! -x "$VENV/bin/python" ]; then
    rm -rf "$VENV"
    if ! python3 -m venv "$VENV"; then
        rm -rf "$VENV"
        minor=$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
        as_root_install python3-venv "python$minor-venv"
        python3 -m venv "$VENV"
    fi
fi
stamp="$VENV/.requirements"
if ! cmp -s "$HERE/requirements.txt" "$stamp"; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"
    cp "$HERE/requirements.txt" "$stamp"
fi

# The protobuf modules (protoc's output must suit the pinned runtime: see requirements.txt).
command -v protoc >/dev/null || as_root_install protobuf-compiler
case "$(protoc --version)" in
    "libprotoc 3.21."*) ;;
    *) echo "run-tests.sh: warning: $(protoc --version); requirements.txt pins the runtime for protoc 3.21" >&2 ;;
esac
rm -rf "$GEN"
mkdir -p "$GEN"
(cd "$ROOT" && protoc -I proto --python_out="$GEN" proto/relbert/v1/*.proto)

cd "$HERE"
RELBERT_PROTO_PATH="$GEN" PYTHONDONTWRITEBYTECODE=1 exec "$VENV/bin/python" test_client.py "$@"
