#!/usr/bin/env bash
# Runs the demo: installs what is missing, builds, starts the proxy (with the embedded
# DashScope emulator unless DASHSCOPE_API_KEY is set) and trunk serve, and prints the URL.
# Stop it with Ctrl-C; both servers stop with it.
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$REPO_ROOT/scripts/servers.sh"
cd "$REPO_ROOT"

bash scripts/install.sh
step "build the proxy (release)"
cargo build --release --offline -p tryon-proxy
trap stop_servers EXIT INT TERM
step "start the proxy"
# Demo tasks take about a third of the real 15-30 s unless SIM_TIME_SCALE says otherwise.
SIM_TIME_SCALE="${SIM_TIME_SCALE:-0.3}" start_proxy "$REPO_ROOT/target/release/tryon-proxy"
step "build and serve the widget"
start_widget_server --release
if [ -z "${DASHSCOPE_API_KEY:-}" ]; then
    echo "upstream: the embedded offline emulator (results are marked as previews)"
fi
printf '\n  Open http://127.0.0.1:%s/ and press "Try it on".\n  Logs: %s\n  Ctrl-C stops the demo.\n\n' "$WIDGET_PORT" "$LOG_DIR"
wait -n "${SERVER_PIDS[@]}"
