# shellcheck shell=bash
# Starts and stops the demo servers (the proxy with its embedded emulator, and trunk serve or,
# for a bundle already built, a plain server of dist/ that forwards /api/ the same way).
# Sourced by demo.sh and test.sh so that the tests run against exactly what the demo runs.

# The proxy port is fixed because Trunk.toml's [[proxy]] forwards /api/ to it, so that a plain
# `trunk serve` works for widget development; trunk would add, not replace, a second proxy
# given on its command line.
PROXY_PORT=8787
WIDGET_PORT="${WIDGET_PORT:-8080}"
LOG_DIR="$REPO_ROOT/target/logs"
SERVER_PIDS=()
# The proxy's pid on its own, so that it can be restarted (another upstream) while trunk runs on.
PROXY_PID=""

# Fails at once, with the reason, when a port the servers need is taken.
require_free_port() {
    local port="$1" what="$2"
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        echo "error: port $port ($what) is already in use on 127.0.0.1; stop whatever listens there (a running demo?) and try again" >&2
        return 1
    fi
}

# Waits until a URL answers with a success status, checking the server is still alive.
# This is a readiness probe, bounded by a deadline, not a sleep standing in for one.
wait_for_url() {
    local url="$1" pid="$2" what="$3" deadline=$((SECONDS + ${4:-600}))
    until curl -fsS -o /dev/null "$url" 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "error: $what exited before it answered at $url; its log follows" >&2
            tail -n 40 "$LOG_DIR/$what.log" >&2 || true
            return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "error: $what did not answer at $url in time; its log follows" >&2
            tail -n 40 "$LOG_DIR/$what.log" >&2 || true
            return 1
        fi
        sleep 0.5
    done
}

# Starts the proxy binary given as $1; with no DASHSCOPE_API_KEY it embeds the emulator.
start_proxy() {
    local binary="$1"
    require_free_port "$PROXY_PORT" "proxy"
    mkdir -p "$LOG_DIR"
    TRYON_LISTEN="127.0.0.1:$PROXY_PORT" \
        TRYON_ALLOWED_ORIGINS="${TRYON_ALLOWED_ORIGINS:-http://127.0.0.1:$WIDGET_PORT,http://localhost:$WIDGET_PORT}" \
        "$binary" >"$LOG_DIR/proxy.log" 2>&1 &
    PROXY_PID=$!
    SERVER_PIDS+=("$PROXY_PID")
    wait_for_url "http://127.0.0.1:$PROXY_PORT/healthz" "$PROXY_PID" proxy 120
    echo "proxy ready on http://127.0.0.1:$PROXY_PORT (log: $LOG_DIR/proxy.log)"
}

# Stops the proxy alone and waits until it has exited, so that its port is free for the
# next start_proxy; the other servers keep running.
stop_proxy() {
    local pid kept=()
    [ -n "$PROXY_PID" ] || return 0
    kill "$PROXY_PID" 2>/dev/null || true
    wait "$PROXY_PID" 2>/dev/null || true
    for pid in "${SERVER_PIDS[@]}"; do
        [ "$pid" = "$PROXY_PID" ] || kept+=("$pid")
    done
    SERVER_PIDS=("${kept[@]}")
    PROXY_PID=""
}

# Starts trunk serve in the background; extra arguments go to trunk.
start_widget_server() {
    require_free_port "$WIDGET_PORT" "trunk serve"
    mkdir -p "$LOG_DIR"
    trunk serve --offline --port "$WIDGET_PORT" "$@" >"$LOG_DIR/trunk.log" 2>&1 &
    SERVER_PIDS+=($!)
    wait_for_url "http://127.0.0.1:$WIDGET_PORT/" "$!" trunk 900
    echo "widget served on http://127.0.0.1:$WIDGET_PORT (log: $LOG_DIR/trunk.log)"
}

# Serves the bundle already built in dist/ (trunk build) on the widget port, with /api/
# forwarded to the proxy as Trunk.toml says, without building it again: trunk serve
# always builds first, which would double a step that has just built it.
start_bundle_server() {
    require_free_port "$WIDGET_PORT" "bundle server"
    mkdir -p "$LOG_DIR"
    node "$REPO_ROOT/scripts/serve-dist.mjs" --port "$WIDGET_PORT" "$REPO_ROOT/dist" >"$LOG_DIR/bundle.log" 2>&1 &
    SERVER_PIDS+=($!)
    wait_for_url "http://127.0.0.1:$WIDGET_PORT/" "$!" bundle 60
    echo "bundle served on http://127.0.0.1:$WIDGET_PORT (log: $LOG_DIR/bundle.log)"
}

stop_servers() {
    local pid
    for pid in "${SERVER_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${SERVER_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    SERVER_PIDS=()
    PROXY_PID=""
}
