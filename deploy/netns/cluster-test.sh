#!/usr/bin/env bash
# The cluster across hosts, on one machine: a coordinator and N workers (default 2), each in its own
# network namespace with its own address (10.77.0.1, .11, .12, ...), joined by a bridge through veth
# pairs, every link shaped with tc (netem delay, loss and rate where the kernel has netem; else a tbf
# rate limit, and the delay added by delay-relay.py, a user-space TCP relay in each worker's namespace
# that holds every byte DELAY in each direction), and all traffic under CURVE. A tiny job trains on it; its weights must be byte-identical
# to a single-process run with N threads (N workers compute exactly what N threads do). Then the
# coordinator serves the job's model from the workers, and a client on the host queries it. Everything
# is torn down on exit.
#
#   deploy/netns/cluster-test.sh            # needs root; exit 0 pass, 1 fail, 77 skipped (no netns here)
#   WORKERS=3 RATE=100mbit DELAY=5ms LOSS=0.1% deploy/netns/cluster-test.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BIN=${RELBERT:-$ROOT/.build/release/relbert}
RATE=${RATE:-1gbit}
DELAY=${DELAY:-2ms}
LOSS=${LOSS:-0%}
WORKERS=${WORKERS:-2}
MODEL=$ROOT/Tests/Fixtures/tiny-roberta
NAMES=(coord)
ADDRS=(10.77.0.1)
for w in $(seq "$WORKERS"); do NAMES+=("w$w"); ADDRS+=("10.77.0.$((10 + w))"); done

[ -x "$BIN" ] || { echo "build first: swift build -c release --product relbert" >&2; exit 1; }
if [ "$(id -u)" != 0 ] || ! ip netns add rb-probe 2>/dev/null; then
    echo "netns test skipped: needs root and network namespaces" >&2; exit 77
fi
ip netns del rb-probe

WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    for n in "${NAMES[@]}"; do ip netns del "rb-$n" 2>/dev/null || true; done
    ip link del rbbr0 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

ip link add rbbr0 type bridge
ip addr add 10.77.0.254/24 dev rbbr0
ip link set rbbr0 up
SHAPING=""
RELAY=0   # 1: no netem here; the workers reach the coordinator through delay-relay.py
for i in "${!NAMES[@]}"; do
    n=${NAMES[$i]}
    ip netns add "rb-$n"
    ip link add "rb-$n-h" type veth peer name eth0 netns "rb-$n"
    ip link set "rb-$n-h" master rbbr0 up
    ip netns exec "rb-$n" ip addr add "${ADDRS[$i]}/24" dev eth0
    ip netns exec "rb-$n" ip link set eth0 up
    ip netns exec "rb-$n" ip link set lo up
    if ip netns exec "rb-$n" tc qdisc add dev eth0 root netem delay "$DELAY" loss "$LOSS" rate "$RATE" 2>/dev/null; then
        SHAPING="netem delay $DELAY, loss $LOSS, rate $RATE"
    else
        ip netns exec "rb-$n" tc qdisc add dev eth0 root tbf rate "$RATE" burst 256kbit latency 50ms
        RELAY=1
        SHAPING="tbf rate $RATE; this kernel has no netem, so a user-space relay in each worker's namespace adds $DELAY each way (no loss)"
    fi
done
echo "hosts: ${ADDRS[*]} on bridge rbbr0; links: $SHAPING"

KEYS=$WORK/keys
for k in coordinator client $(for w in $(seq "$WORKERS"); do echo "worker-$w"; done); do
    "$BIN" keys generate "$k" --dir "$KEYS" >/dev/null
done
mkdir "$KEYS/authorized"
cp "$KEYS"/worker-*.pub "$KEYS"/client.pub "$KEYS/authorized/"
ENDPOINT=tcp://10.77.0.1:5555

ip netns exec rb-coord "$BIN" coordinator --bind "$ENDPOINT" --state-dir "$WORK/state" --heartbeat-ms 500 \
    --key "$KEYS/coordinator.key" --authorized "$KEYS/authorized" >"$WORK/coordinator.log" 2>&1 &
PIDS+=($!)
WORKER_ENDPOINT=$ENDPOINT
if [ "$RELAY" = 1 ]; then
    DELAY_MS=$(python3 -c 'import re,sys; m=re.fullmatch(r"([0-9.]+)(us|ms|s)?", sys.argv[1]); print(float(m[1]) * {"us": 1e-3, "ms": 1, "s": 1e3, None: 1}[m[2]])' "$DELAY")
    WORKER_ENDPOINT=tcp://127.0.0.1:5555
    for w in $(seq "$WORKERS"); do
        ip netns exec "rb-w$w" python3 "$ROOT/deploy/netns/delay-relay.py" 127.0.0.1 5555 10.77.0.1 5555 "$DELAY_MS" >"$WORK/relay-$w.log" 2>&1 &
        PIDS+=($!)
    done
    for w in $(seq "$WORKERS"); do
        for _ in $(seq 50); do grep -q relaying "$WORK/relay-$w.log" && break; sleep 0.1; done
        grep -q relaying "$WORK/relay-$w.log" || { echo "FAIL: the delay relay of worker $w did not start"; cat "$WORK/relay-$w.log"; exit 1; }
    done
fi
for w in $(seq "$WORKERS"); do
    ip netns exec "rb-w$w" "$BIN" worker --connect "$WORKER_ENDPOINT" --heartbeat-ms 500 \
        --key "$KEYS/worker-$w.key" --server-key "$KEYS/coordinator.pub" >"$WORK/worker-$w.log" 2>&1 &
    PIDS+=($!)
done
CLIENT=(--coordinator "$ENDPOINT" --key "$KEYS/client.key" --server-key "$KEYS/coordinator.pub")
for _ in $(seq 100); do grep -q "$WORKERS alive" "$WORK/coordinator.log" && break; sleep 0.1; done
grep -q "$WORKERS alive" "$WORK/coordinator.log" || { echo "FAIL: the workers did not register"; cat "$WORK"/*.log; exit 1; }

JOB=(--model "$MODEL" --epochs 1 --lr 1e-3 --checkpoint-every 20)
ID=$("$BIN" submit "${CLIENT[@]}" "${JOB[@]}")
echo "job $ID submitted from the host side (10.77.0.254)"
START=$(date +%s)
STATE=""
for _ in $(seq 600); do
    STATE=$("$BIN" status "$ID" --json "${CLIENT[@]}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
    case $STATE in succeeded|failed|cancelled) break ;; esac
    sleep 0.5
done
echo "job $STATE in $(( $(date +%s) - START )) s"
[ "$STATE" = succeeded ] || { echo "FAIL"; cat "$WORK/coordinator.log"; exit 1; }

"$BIN" fetch "$ID" --output "$WORK/fetched" "${CLIENT[@]}" >/dev/null
"$BIN" train --output "$WORK/local" --threads "$WORKERS" --no-eval "${JOB[@]}" >/dev/null
if cmp -s "$WORK/fetched/model.safetensors" "$WORK/local/model/model.safetensors"; then
    echo "PASS: the weights trained across $((WORKERS + 1)) hosts equal a $WORKERS-thread single-process run byte for byte"
else
    echo "FAIL: the weights differ from the $WORKERS-thread single-process run"; exit 1
fi

# The coordinator now serves the job's model on the workers in the other namespaces.
PAIRS=(paris france puppy dog hammer tool)
"$BIN" query embed --server "$ENDPOINT" --key "$KEYS/client.key" --server-key "$KEYS/coordinator.pub" \
    --format tsv "${PAIRS[@]}" >"$WORK/served.tsv" 2>"$WORK/query.log" || { echo "FAIL: query embed"; cat "$WORK/query.log" "$WORK/coordinator.log"; exit 1; }
grep -q "job $ID" "$WORK/query.log" || { echo "FAIL: the reply does not name job $ID"; cat "$WORK/query.log"; exit 1; }
printf 'paris\tfrance\npuppy\tdog\nhammer\ttool\n' | "$BIN" embed --model "$WORK/fetched" --format tsv >"$WORK/local.tsv"
if python3 - "$WORK/served.tsv" "$WORK/local.tsv" <<'PY'
import sys
served, local = ([[float(x) for x in line.split("\t")[2:]] for line in open(f)] for f in sys.argv[1:])
worst = max(abs(a - b) for s, l in zip(served, local) for a, b in zip(s, l))
ok = len(served) == len(local) == 3 and all(len(s) == len(l) for s, l in zip(served, local)) and worst < 1e-5
print(f"served vs local: largest difference {worst:.2e}")
sys.exit(0 if ok else 1)
PY
then
    echo "PASS: the coordinator serves the job's model from workers on other hosts (CURVE); vectors equal relbert embed"
else
    echo "FAIL: the served vectors differ from relbert embed"; exit 1
fi
