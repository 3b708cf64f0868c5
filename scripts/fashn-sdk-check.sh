#!/usr/bin/env bash
# Checks that FASHN's official Python SDK (fashn 0.9.0, from PyPI) drives the emulator's FASHN
# API unchanged: subscribe to completion with a 864x1296 PNG, the SDK's auth error for a wrong
# key, and a failed prediction carrying its runtime error name (scripts/fashn_sdk_check.py).
# The SDK lives in a venv under target/ that is made once and reused; `--install` only makes
# it (install.sh calls that, so CI installs it with everything else).
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$REPO_ROOT/scripts/servers.sh"
cd "$REPO_ROOT"

FASHN_SDK_VERSION="0.9.0"
VENV="$REPO_ROOT/target/fashn-sdk-venv"
SIM_KEY="fa-sdk-check"
# The emulator's predictions take 5-14 s at time scale 1; at 0.02 one takes 0.1-0.3 s.
SIM_SCALE="${FASHN_CHECK_TIME_SCALE:-0.02}"

# Makes the venv with the pinned SDK unless it is already there; PyPI is the only download.
ensure_venv() {
    step "python venv with fashn==$FASHN_SDK_VERSION ($VENV)"
    if "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('fashn') != '$FASHN_SDK_VERSION')" 2>/dev/null; then
        echo "present"
        return
    fi
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "fashn==$FASHN_SDK_VERSION"
    "$VENV/bin/python" -c "import fashn; print('fashn', fashn.__version__)"
}

ensure_venv
if [ "${1:-}" = "--install" ]; then
    exit 0
fi

step "building the emulator"
cargo build --quiet -p dashscope-sim
SIM_BIN="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/debug/dashscope-sim"

step "starting the emulator on a free port (time scale $SIM_SCALE)"
mkdir -p "$LOG_DIR"
SIM_LOG="$LOG_DIR/fashn-sim.log"
# Port 0 lets the system pick a free port; the emulator prints the address it got.
RUST_LOG=warn "$SIM_BIN" --listen 127.0.0.1:0 --api-key "$SIM_KEY" --time-scale "$SIM_SCALE" \
    >"$SIM_LOG" 2>&1 &
SIM_PID=$!
trap 'kill "$SIM_PID" 2>/dev/null || true; wait "$SIM_PID" 2>/dev/null || true' EXIT
# A readiness probe bounded by a deadline: the address line appears once the socket is bound.
deadline=$((SECONDS + 60))
until SIM_URL="$(sed -n 's/^dashscope-sim listening on //p' "$SIM_LOG")" && [ -n "$SIM_URL" ]; do
    if ! kill -0 "$SIM_PID" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
        echo "error: the emulator did not start; its log follows" >&2
        cat "$SIM_LOG" >&2
        exit 1
    fi
    sleep 0.1
done
wait_for_url "$SIM_URL/healthz" "$SIM_PID" fashn-sim 30
echo "emulator ready on $SIM_URL (log: $SIM_LOG)"

step "FASHN's Python SDK against the emulator"
# The SDK reads exactly these two variables; the loopback address never goes through a proxy.
FASHN_API_KEY="$SIM_KEY" FASHN_BASE_URL="$SIM_URL" NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" \
    "$VENV/bin/python" "$REPO_ROOT/scripts/fashn_sdk_check.py"
