#!/usr/bin/env bash
# End-to-end test of the C client (clients/c/README.md).
#
#   clients/c/run-test.sh                 against `relbert serve`: the embeddings must equal
#                                         `relbert embed --format tsv` within 1e-5 per component
#   clients/c/run-test.sh --coordinator   against `relbert coordinator`, which does not serve
#                                         serve.Embed: checks encoding, framing and status handling
#
# Environment: RELBERT (default .build/release/relbert) and MODEL (default models/all-MiniLM-L6-v2),
# relative to the repository root. Installs the apt packages it needs when they are missing, builds
# with make, starts its own server on a free port and stops it on exit. Prints PASS or FAIL; the exit
# status is 0 only on PASS.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cd "$ROOT" || exit 1

RELBERT=${RELBERT:-.build/release/relbert}
MODEL=${MODEL:-models/all-MiniLM-L6-v2}
TOLERANCE=1e-5
MODE=serve
case "${1:-}" in
    "") ;;
    --coordinator) MODE=coordinator ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: $0 [--coordinator]" >&2; exit 64 ;;
esac

CLIENT="$HERE/build/relbert-embed"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/relbert-c-test.XXXXXX")
SERVER_PID=
FAILURES=0

cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        # The server runs in its own session (setsid), so this also reaches any worker it started.
        kill -TERM -- "-$SERVER_PID" 2>/dev/null || kill -TERM "$SERVER_PID" 2>/dev/null
        for _ in $(seq 1 100); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL -- "-$SERVER_PID" 2>/dev/null || kill -KILL "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass() { echo "ok   - $*"; }
fail() { echo "FAIL - $*"; FAILURES=$((FAILURES + 1)); }
show() { sed 's/^/       | /' "$1" | head -n "${2:-20}"; }
finish() {
    if [ "$FAILURES" -eq 0 ]; then echo "PASS"; exit 0; fi
    echo "FAIL ($FAILURES check(s) failed)"; exit 1
}
abort() { fail "$*"; finish; }

# --- packages and build ------------------------------------------------------------------------
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
if command -v dpkg-query >/dev/null 2>&1; then
    missing=()
    for package in protobuf-c-compiler libprotobuf-c-dev libzmq3-dev pkg-config; do
        installed "$package" || missing+=("$package")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
        echo "installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        $SUDO apt-get install -y "${missing[@]}" >"$WORK/apt.log" 2>&1 ||
            { $SUDO apt-get update >>"$WORK/apt.log" 2>&1 && $SUDO apt-get install -y "${missing[@]}" >>"$WORK/apt.log" 2>&1; } ||
            { show "$WORK/apt.log" 40; abort "apt-get install ${missing[*]}"; }
    fi
fi

if make -C "$HERE" >"$WORK/make.log" 2>&1; then
    pass "make"
else
    show "$WORK/make.log" 40
    abort "make"
fi

# --- a server --------------------------------------------------------------------------------------
free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
        return
    fi
    local port
    for _ in $(seq 1 100); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
    done
    return 1
}

[ -x "$RELBERT" ] || abort "no relbert binary at $RELBERT (set RELBERT)"
PORT=$(free_port) || abort "no free port"
SERVER="tcp://127.0.0.1:$PORT"

if [ "$MODE" = serve ]; then
    [ -d "$MODEL" ] || abort "no model folder at $MODEL (set MODEL)"
    if ! "$RELBERT" serve --help 2>/dev/null | grep -q 'USAGE: relbert serve'; then
        abort "$RELBERT has no 'serve' subcommand (run with --coordinator to check the framing against the coordinator)"
    fi
    setsid "$RELBERT" serve --model "$MODEL" --bind "$SERVER" --workers 1 --index none >"$WORK/server.log" 2>&1 &
else
    setsid "$RELBERT" coordinator --bind "$SERVER" --state-dir "$WORK/state" >"$WORK/server.log" 2>&1 &
fi
SERVER_PID=$!
echo "started $MODE on $SERVER (pid $SERVER_PID)"

# Wait until it answers: in serve mode with embeddings (a server may refuse requests while its
# workers start), in coordinator mode with anything.
ready=0
deadline=$((SECONDS + 60))
while [ "$SECONDS" -lt "$deadline" ]; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        show "$WORK/server.log" 40
        abort "the $MODE process exited before answering"
    fi
    "$CLIENT" --server "$SERVER" --timeout-ms 1000 --retries 0 paris france >"$WORK/wait.out" 2>"$WORK/wait.err"
    rc=$?
    if [ "$rc" -eq 0 ] || { [ "$MODE" = coordinator ] && [ "$rc" -ne 2 ]; }; then ready=1; break; fi
    sleep 0.5
done
if [ "$ready" -eq 1 ]; then
    pass "the $MODE answers"
else
    show "$WORK/wait.err" 5
    show "$WORK/server.log" 40
    abort "no answer from the $MODE within 60 s"
fi

# --- checks ----------------------------------------------------------------------------------------
# Compares the client's "head<TAB>tail<TAB>v1 v2 ..." lines with `relbert embed --format tsv`
# ("head<TAB>tail<TAB>v1<TAB>v2..."): same pairs in the same order, same dimension, every component
# within the tolerance.
compare() {
    awk -F'\t' -v tol="$TOLERANCE" '
        FILENAME == ARGV[1] { nref++; key[nref] = $1 "\t" $2; dim[nref] = NF - 2
                    for (i = 3; i <= NF; i++) ref[nref, i - 2] = $i
                    next }
        { n++
          if (n > nref) { bad = "more lines than the reference"; exit }
          if ($1 "\t" $2 != key[n]) { bad = "line " n " is the pair " $1 "/" $2 ", expected " key[n]; exit }
          if (NF != 3) { bad = "line " n " has " NF " tab-separated fields, expected 3"; exit }
          d = split($3, v, " ")
          if (d != dim[n] || d == 0) { bad = "line " n " has " d " values, the reference " dim[n]; exit }
          for (i = 1; i <= d; i++) {
              diff = v[i] - ref[n, i]; if (diff < 0) diff = -diff
              if (diff > maxdiff) maxdiff = diff
          } }
        END {
          if (bad == "" && nref == 0) bad = "the reference is empty"
          if (bad == "" && n != nref) bad = "got " n + 0 " lines, the reference has " nref
          if (bad != "") { print bad; exit 1 }
          printf "%d pairs x %d, largest difference %.3g (tolerance %s)\n", n, dim[1], maxdiff, tol
          exit (maxdiff > tol) ? 1 : 0
        }' "$1" "$2"
}

if [ "$MODE" = serve ]; then
    "$CLIENT" --server "$SERVER" --timeout-ms 30000 --retries 1 paris france puppy dog >"$WORK/client.out" 2>"$WORK/client.err"
    rc=$?
    if [ "$rc" -eq 0 ]; then pass "relbert-embed paris france puppy dog"; else show "$WORK/client.err"; fail "relbert-embed exited $rc"; fi
    if grep -q '^model: checksum [0-9a-fA-F]\{16\} generation [0-9]' "$WORK/client.err"; then
        pass "model identity on stderr: $(grep '^model:' "$WORK/client.err")"
    else
        show "$WORK/client.err"; fail "no 'model: checksum <16 hex> generation <n>' on stderr"
    fi

    if printf 'paris\tfrance\npuppy\tdog\n' | "$RELBERT" embed --model "$MODEL" --format tsv >"$WORK/reference.tsv" 2>"$WORK/reference.err"; then
        if result=$(compare "$WORK/reference.tsv" "$WORK/client.out"); then
            pass "equals relbert embed: $result"
        else
            fail "differs from relbert embed: $result"
        fi
    else
        show "$WORK/reference.err"; fail "relbert embed (the reference) failed"
    fi

    "$CLIENT" --server "$SERVER" --timeout-ms 30000 --retries 1 --pooling no_such_pooling paris france >"$WORK/bad.out" 2>"$WORK/bad.err"
    rc=$?
    if [ "$rc" -eq 1 ] && grep -q '^error: INVALID_ARGUMENT: ' "$WORK/bad.err" && [ ! -s "$WORK/bad.out" ]; then
        pass "unknown pooling: exit 1, $(head -n 1 "$WORK/bad.err")"
    else
        show "$WORK/bad.err"; fail "unknown pooling: exit $rc, expected 1 with 'error: INVALID_ARGUMENT: ...'"
    fi
else
    "$CLIENT" --server "$SERVER" --timeout-ms 5000 --retries 1 paris france puppy dog >"$WORK/client.out" 2>"$WORK/client.err"
    rc=$?
    if [ "$rc" -eq 1 ] && grep -q '^error: UNIMPLEMENTED: .' "$WORK/client.err" && [ ! -s "$WORK/client.out" ]; then
        pass "coordinator: exit 1, $(head -n 1 "$WORK/client.err")"
    else
        show "$WORK/client.err"; fail "coordinator: exit $rc, expected 1 with 'error: UNIMPLEMENTED: ...'"
    fi
fi

# Nothing listens on this port: every try times out, then the client gives up with exit 2.
DEAD_PORT=$(free_port) || abort "no free port"
start=$SECONDS
"$CLIENT" --server "tcp://127.0.0.1:$DEAD_PORT" --timeout-ms 300 --retries 2 paris france >"$WORK/dead.out" 2>"$WORK/dead.err"
rc=$?
if [ "$rc" -eq 2 ] && grep -q '^error: UNAVAILABLE: .*after 3 tries' "$WORK/dead.err" && [ "$(grep -c 'retrying$' "$WORK/dead.err")" -eq 2 ]; then
    pass "no server: 2 retries, then exit 2 after $((SECONDS - start)) s"
else
    show "$WORK/dead.err"; fail "no server: exit $rc, expected 2 with 'error: UNAVAILABLE: ... after 3 tries'"
fi

"$CLIENT" --server "$SERVER" paris >/dev/null 2>"$WORK/usage.err"
rc=$?
if [ "$rc" -eq 64 ]; then pass "an odd number of words: exit 64"; else fail "an odd number of words: exit $rc, expected 64"; fi

finish
