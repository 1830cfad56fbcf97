#!/usr/bin/env bash
# The last part of `make run`: serve a trained model on a local 2-worker cluster, ask it a few things
# over the wire protocol (health, embeddings, an analogy), then stop it.
#   scripts/serve-demo.sh MODEL_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:?usage: scripts/serve-demo.sh MODEL_DIR}
BIN=${RELBERT:-.build/release/relbert}
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
SERVER=tcp://127.0.0.1:$PORT
LOG=$(mktemp)
"$BIN" serve --model "$MODEL" --bind "$SERVER" --workers 2 --index none 2>"$LOG" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -f "$LOG"' EXIT
echo "serving $MODEL on $SERVER (2 local workers)"
for _ in $(seq 120); do
    "$BIN" query health --server "$SERVER" --timeout 1 --retries 0 2>/dev/null && break
    kill -0 $PID 2>/dev/null || { cat "$LOG"; exit 1; }
    sleep 0.5
done
echo "relbert query embed --format tsv paris france tokyo japan puppy dog  (first 6 of 384 values)"
"$BIN" query embed --server "$SERVER" --format tsv paris france tokyo japan puppy dog | cut -f1-8
echo "relbert query analogy paris france  tokyo japan  puppy dog  hot cold  wheel car"
"$BIN" query analogy --server "$SERVER" paris france tokyo japan puppy dog hot cold wheel car
