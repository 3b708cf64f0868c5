#!/usr/bin/env bash
# Runs every check and test of the project: formatting, lints (native and wasm), native unit
# and integration tests (the proxy's on both file stores: the local folder and S3 on moto),
# FASHN's official Python SDK against the emulator, the widget's
# browser tests in headless Chromium, the end-to-end
# test that drives Chromium through a try-on against the demo servers, and the Shopify
# integration's checks (Theme Check, Shopify's own app proxy signature check, a try-on on a
# stand-in storefront).
# It installs what is missing first (idempotent), so it passes on a bare machine.
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$REPO_ROOT/scripts/servers.sh"
cd "$REPO_ROOT"

STEP_TIMES=()
timed() {
    local name="$1" started=$SECONDS
    shift
    step "$name"
    "$@"
    STEP_TIMES+=("$(printf '%-38s %5ds' "$name" $((SECONDS - started)))")
}

# The end-to-end proxies' admin token: a fixed test value, never a shop's.
E2E_ADMIN_TOKEN="e2e-admin-token-not-a-secret"

run_e2e() {
    trap stop_servers EXIT
    cargo build --quiet -p tryon-proxy
    # The bundle is built once, here, so a build error shows with its own output. It is then
    # served as built: trunk serve would build it a second time before serving it.
    trunk build --release --offline
    # One server for every run: the bundle is the same, only the proxy behind it changes.
    start_bundle_server
    local upstream started data failed=() times=()
    # The same tests run once per upstream, each against a freshly started proxy with its
    # own empty data directory, so that no job, file or daily count of one run leaks into
    # the other; the tests read E2E_UPSTREAM only where the upstreams legitimately differ.
    for upstream in aitryon qwen-image fashn; do
        step "end-to-end under TRYON_UPSTREAM=$upstream"
        started=$SECONDS
        # Under target/, not /tmp: a /tmp cleaner on a shared machine once removed a
        # running proxy's data directory mid-run, failing every later upload.
        data="$(mktemp -d "$REPO_ROOT/target/e2e-data.XXXXXX")"
        # The emulator runs its 15-30 s tasks twenty times faster so the flow takes about a second.
        # The shop's free-space floor (1 GiB by default) is lowered to 16 MiB: these runs
        # store a few hundred kilobytes, and a build machine's disk is often fuller than a
        # shop's; the floor itself is tested in tests/api/limits.rs.
        # The dashboard is on, behind a fixed token that only these runs use
        # (tests/e2e/dashboard.test.mjs signs in with it).
        SIM_TIME_SCALE="${SIM_TIME_SCALE:-0.05}" TRYON_UPSTREAM="$upstream" TRYON_DATA_DIR="$data" \
            TRYON_MIN_FREE_BYTES="${TRYON_MIN_FREE_BYTES:-16777216}" TRYON_ADMIN_TOKEN="$E2E_ADMIN_TOKEN" \
            start_proxy "$REPO_ROOT/target/debug/tryon-proxy"
        # A failing run does not stop the others, so that one log shows every upstream.
        E2E_UPSTREAM="$upstream" E2E_BASE_URL="http://127.0.0.1:$WIDGET_PORT/" \
            E2E_PROXY_URL="http://127.0.0.1:$PROXY_PORT" E2E_PROXY_LOG="$LOG_DIR/proxy.log" \
            E2E_ADMIN_TOKEN="$E2E_ADMIN_TOKEN" \
            node --test --test-reporter=spec tests/e2e/ || failed+=("$upstream")
        stop_proxy
        rm -rf "$data"
        times+=("$(printf '%-12s %5ds' "$upstream" $((SECONDS - started)))")
    done
    stop_servers
    trap - EXIT
    printf '\ne2e wall time per upstream\n'
    printf '  %s\n' "${times[@]}"
    if [ "${#failed[@]}" -gt 0 ]; then
        echo "error: the end-to-end tests failed under: ${failed[*]}" >&2
        return 1
    fi
}

# `scripts/test.sh --repeat-native N` runs only the native unit and integration tests, N
# times in a row, and prints each run's time: the check that the suite passes every time.
# With BUSY_CORES=K it first starts K busy loops (stopped on exit), so the repeats run on a
# machine as loaded as a shared CI runner.
if [ "${1:-}" = "--repeat-native" ]; then
    runs="${2:?usage: scripts/test.sh --repeat-native N}"
    bash scripts/install.sh >/dev/null
    busy_pids=()
    stop_busy() { [ "${#busy_pids[@]}" -eq 0 ] || kill "${busy_pids[@]}" 2>/dev/null || true; }
    trap stop_busy EXIT
    for _ in $(seq 1 "${BUSY_CORES:-0}"); do
        (while :; do :; done) &
        busy_pids+=($!)
    done
    step "building the native tests"
    cargo test --workspace --offline --no-run --quiet
    results=()
    for run in $(seq 1 "$runs"); do
        step "native tests, run $run of $runs (busy cores: ${BUSY_CORES:-0})"
        started=$SECONDS
        if cargo test --workspace --offline --quiet; then
            results+=("$(printf 'run %-3s passed  %5ds' "$run" $((SECONDS - started)))")
        else
            results+=("$(printf 'run %-3s FAILED  %5ds' "$run" $((SECONDS - started)))")
            printf '  %s\n' "${results[@]}"
            exit 1
        fi
    done
    printf '\nnative test runs\n'
    printf '  %s\n' "${results[@]}"
    echo "$runs passed, 0 failed"
    exit 0
fi

timed "install tools" bash scripts/install.sh
timed "cargo fmt --check" cargo fmt --all -- --check
timed "clippy (native, all targets)" cargo clippy --workspace --all-targets --offline -- -D warnings
timed "clippy (wasm32: widget, contract)" cargo clippy -p tryon-widget -p tryon-api \
    --target wasm32-unknown-unknown --all-targets --offline -- -D warnings
timed "native unit and integration tests" cargo test --workspace --offline
# The proxy's integration tests once more with their files in an S3-compatible server (moto,
# from PyPI): the same tests on the other store, and the S3-only ones, which the step
# above lists as ignored.
timed "proxy integration tests on S3 (moto) and PostgreSQL" bash scripts/backends-test.sh
timed "FASHN's Python SDK on the emulator" bash scripts/fashn-sdk-check.sh
# Doctests report success under the wasm runner even when they fail, so only --tests runs here.
timed "widget browser tests (headless Chromium)" cargo test -p tryon-widget \
    --target wasm32-unknown-unknown --tests --offline
timed "end-to-end try-on in Chromium" run_e2e
# After the end-to-end step, which built the release bundle the extension ships.
timed "Shopify: Theme Check, app proxy signatures, storefront" bash scripts/shopify-check.sh --reuse-dist

printf '\nstep times\n'
printf '  %s\n' "${STEP_TIMES[@]}"
echo "all checks and tests passed"
