#!/usr/bin/env bash
# Runs the proxy's integration tests (crates/tryon-proxy/tests/api, the whole binary, the
# tests only for these backends included) on the backends that several replicas share:
# their files in a real S3-compatible server (moto 5.2.5 from PyPI, in a venv under
# target/ that is made once and reused) and their state in a real PostgreSQL (Debian's
# package, a fresh cluster under target/postgres; see scripts/postgres.sh). Both start on
# free loopback ports and stop afterwards; nothing is installed system-wide.
# `--install` only makes the venv (install.sh calls that); any other arguments are passed
# to the test binary as filters, e.g. `scripts/backends-test.sh storage::`.
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/postgres.sh"
cd "$REPO_ROOT"

MOTO_VERSION="5.2.5"
VENV="$REPO_ROOT/target/moto-venv"
LOG_DIR="$REPO_ROOT/target/logs"

# Makes the venv with the pinned moto unless it is already there; PyPI is the only
# download. Only the S3 part of moto and the web server it runs in are installed (about
# 140 MB; moto[server] would pull every AWS service's dependencies, over 300 MB).
ensure_venv() {
    step "python venv with moto[s3]==$MOTO_VERSION and its server ($VENV)"
    if "$VENV/bin/python" -c "import importlib.metadata as m, sys, flask, flask_cors; sys.exit(m.version('moto') != '$MOTO_VERSION')" 2>/dev/null; then
        echo "present"
        return
    fi
    # A venv left half-made by an interrupted install is made again from scratch.
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        "moto[s3]==$MOTO_VERSION" "flask==3.1.3" "flask-cors==6.0.5"
    "$VENV/bin/python" -c "import moto; print('moto', moto.__version__)"
}

ensure_venv
if [ "${1:-}" = "--install" ]; then
    exit 0
fi

step "starting moto on a free loopback port"
mkdir -p "$LOG_DIR"
MOTO_LOG="$LOG_DIR/moto.log"
# Emptied first: the server's own redirect happens in the background, and a probe that
# read the previous run's line would wait on a port nobody listens on any more.
: >"$MOTO_LOG"
"$VENV/bin/python" "$REPO_ROOT/scripts/moto_server.py" >"$MOTO_LOG" 2>&1 &
MOTO_PID=$!
trap 'stop_postgres; kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true' EXIT
# A readiness probe bounded by a deadline: the address line appears once the socket is bound.
deadline=$((SECONDS + 60))
until MOTO_URL="$(sed -n 's/^moto listening on //p' "$MOTO_LOG")" && [ -n "$MOTO_URL" ]; do
    if ! kill -0 "$MOTO_PID" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
        echo "error: moto did not start; its log follows" >&2
        cat "$MOTO_LOG" >&2
        exit 1
    fi
    sleep 0.1
done
echo "moto ready on $MOTO_URL (log: $MOTO_LOG)"

step "starting PostgreSQL on a free loopback port"
start_postgres

step "the proxy's integration tests with their files in S3 (moto) and their state in PostgreSQL"
# The helpers give each test proxy its own prefix of one bucket, through a gate the
# fault tests cut, and a database of its own; the loopback address never goes through
# a proxy. One test at a time: several of these tests run on the system clock against
# bounds (a create's 10 s wait, the hang limit), and three proxy binaries, moto and
# PostgreSQL beside another test's binary overload a 2-core machine past them.
TRYON_TEST_S3_ENDPOINT="$MOTO_URL" TRYON_TEST_DATABASE_URL="$POSTGRES_URL" \
    NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}" \
    cargo test -p tryon-proxy --test api --offline -- --include-ignored --test-threads=1 "$@"
