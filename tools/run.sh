#!/usr/bin/env bash
# `make run`: nginx with the webcall module in the foreground on
# 127.0.0.1:$PORT, with its config, logs and secret in ./run. Ctrl-C or
# SIGTERM stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."

port=${PORT:-8080}
run_dir=run

if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "run: 127.0.0.1:$port is already in use; try: make run PORT=8081" >&2
    exit 1
fi

mkdir -p "$run_dir"
PORT=$port LOG_TO_STDERR=1 tools/render-conf.sh "$run_dir" >/dev/null
nginx -t -q -p "$run_dir" -c "$PWD/$run_dir/nginx.conf"

pids=()
stop() {
    trap - INT TERM EXIT
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    echo "run: stopped"
}
trap stop INT TERM EXIT

nginx -p "$run_dir" -c "$PWD/$run_dir/nginx.conf" -g 'daemon off;' &
pids+=($!)

for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done

cat <<MSG

  webcall is running. Open http://127.0.0.1:$port/ in your browser.
  Logs: $run_dir/error.log and $run_dir/access.log. Stop with Ctrl-C.

MSG

# Returns when nginx exits or a signal arrives (the trap stops the rest).
wait -n "${pids[@]}" || true
