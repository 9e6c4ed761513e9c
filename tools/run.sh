#!/usr/bin/env bash
# `make run`: nginx with the webcall module on 127.0.0.1:$PORT and coturn on
# 127.0.0.1:$TURN_PORT, in the foreground, with their configs, logs and the
# one secret in ./run. Ctrl-C or SIGTERM stops everything this script started.
#
# env: PORT (8080), TURN_PORT (3478), TURN_RELAY_MIN/TURN_RELAY_MAX (the UDP
#      relay range, 49160-49200), RUN_DIR (run), and what tools/render-conf.sh
#      takes (EXTRA_SERVER, ...).
set -euo pipefail
cd "$(dirname "$0")/.."

port=${PORT:-8080}
turn_port=${TURN_PORT:-3478}
relay_min=${TURN_RELAY_MIN:-49160}
relay_max=${TURN_RELAY_MAX:-49200}
run_dir=${RUN_DIR:-run}

tcp_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
udp_busy() { ss -Hlun "sport = :$1" 2>/dev/null | grep -q .; }

if tcp_busy "$port"; then
    echo "run: 127.0.0.1:$port is already in use; try: make run PORT=8081" >&2
    exit 1
fi
if tcp_busy "$turn_port" || udp_busy "$turn_port"; then
    echo "run: 127.0.0.1:$turn_port (TURN) is already in use; try: make run TURN_PORT=3479" >&2
    exit 1
fi
command -v turnserver >/dev/null || {
    echo "run: turnserver (coturn) is not installed; run: make deps" >&2
    exit 1
}

mkdir -p "$run_dir"
run_dir=$(cd "$run_dir" && pwd)
secret=$run_dir/secret

# One secret for everything: nginx signs room links and mints TURN
# credentials with it, coturn checks those credentials with it.
turn_urls="stun:127.0.0.1:$turn_port turn:127.0.0.1:$turn_port?transport=udp turn:127.0.0.1:$turn_port?transport=tcp"
PORT=$port LOG_TO_STDERR=1 SECRET_FILE=$secret \
    EXTRA_HTTP="${EXTRA_HTTP:-}
webcall_turn_secret_file $secret;
webcall_turn_urls $turn_urls;" \
    tools/render-conf.sh "$run_dir" >/dev/null
nginx -t -q -p "$run_dir" -c "$run_dir/nginx.conf"

# The development coturn config (UNSAFE FOR PRODUCTION: loopback peers).
(umask 077; turn/render.sh --dev --secret-file "$secret" --realm localhost \
    --run-dir "$run_dir" --port "$turn_port" \
    --relay-min "$relay_min" --relay-max "$relay_max" > "$run_dir/turnserver.conf")
rm -f "$run_dir/turnserver.log"

pids=()
stop() {
    trap - INT TERM EXIT
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        # nginx and coturn stop within a second; make sure, though.
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    echo "run: stopped"
}
trap stop INT TERM EXIT

nginx -p "$run_dir" -c "$run_dir/nginx.conf" -g 'daemon off;' &
pids+=($!)
turnserver -c "$run_dir/turnserver.conf" >/dev/null 2>&1 &
turn_pid=$!
pids+=("$turn_pid")

up=0
for _ in $(seq 50); do
    if tcp_busy "$port" && tcp_busy "$turn_port"; then up=1; break; fi
    sleep 0.1
done
if [ "$up" = 0 ] || ! kill -0 "$turn_pid" 2>/dev/null; then
    echo "run: nginx or coturn did not start; see $run_dir/error.log and $run_dir/turnserver.log" >&2
    tail -5 "$run_dir/turnserver.log" >&2 2>/dev/null || true
    exit 1
fi

cat <<MSG

  webcall is running. Open http://127.0.0.1:$port/ in your browser.
  TURN (coturn, development config): 127.0.0.1:$turn_port udp+tcp, relay ports $relay_min-$relay_max.
  Logs: $run_dir/error.log, $run_dir/access.log, $run_dir/turnserver.log.
  Stop with Ctrl-C.

MSG

# Returns when nginx or coturn exits or a signal arrives (the trap stops the
# rest).
wait -n "${pids[@]}" || true
