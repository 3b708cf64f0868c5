#!/usr/bin/env bash
# Benchmark of the try-on proxy on loopback (not a test): status queries through the proxy
# versus nginx proxy_pass to the emulator, the 30-create burst, the proxy's memory idle
# and with 1000 waiting long polls, and 1 vs 3 replicas on PostgreSQL (status queries, and
# the time from the dispatcher's SIGKILL until its jobs run again). Prints one table.
# Bounded: about two minutes after the release build.
#
# Usage: bench/proxy/run.sh            (DURATION=10 CONNECTIONS=50 HOLD=1000 to change)
set -euo pipefail
source "$(dirname "$0")/../../scripts/env.sh"
source "$(dirname "$0")/../../scripts/postgres.sh"
cd "$REPO_ROOT"

DURATION="${DURATION:-10}"        # seconds of wrk load per target
CONNECTIONS="${CONNECTIONS:-50}"  # wrk connections
HOLD="${HOLD:-1000}"              # long polls held open for the memory figure
KEY="sk-bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"

# nginx-light and wrk from Debian, installed only when missing.
missing=()
command -v nginx >/dev/null || missing+=(nginx-light)
command -v wrk >/dev/null || missing+=(wrk)
if ((${#missing[@]})); then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
NGINX="$(command -v nginx)"

cargo build --release -q -p tryon-proxy -p dashscope-sim --bins --example proxy_bench
BIN="$REPO_ROOT/target/release"
BENCH="$BIN/examples/proxy_bench"

work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    stop_postgres
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { # url: polls until it answers, at most 20 s
    for _ in $(seq 200); do curl -fs -o /dev/null "$1" && return 0; sleep 0.1; done
    echo "no answer from $1" >&2; exit 1
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
# Runs wrk and prints "requests/s p99(ms)".
wrk_figures() {
    wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$1" > "$work/wrk.out"
    awk '
        /Requests\/sec:/ { rps = $2 }
        /^ +99%/ { v = $2; if (v ~ /us$/) { sub(/us/, "", v); v /= 1000 }
                   else if (v ~ /ms$/) { sub(/ms/, "", v) }
                   else if (v ~ /s$/) { sub(/s/, "", v); v *= 1000 }
                   p99 = v }
        /Non-2xx/ { bad = $NF }
        END { printf "%.0f %.2f %s\n", rps, p99, (bad == "" ? 0 : bad) }' "$work/wrk.out"
}
start_sim() { # port time_scale [extra args]: starts an emulator accepting $KEY
    local port="$1" scale="$2"
    shift 2
    SIM_API_KEYS="$KEY" "$BIN/dashscope-sim" --listen "127.0.0.1:$port" --time-scale "$scale" "$@" \
        > "$work/sim-$port.log" 2>&1 &
    pids+=($!)
    wait_http "http://127.0.0.1:$port/healthz"
}
start_pair() { # name time_scale [extra emulator args]: an emulator and a proxy in front of it
    local name="$1" scale="$2" sim_port proxy_port
    shift 2
    sim_port="$(free_port)"; proxy_port="$(free_port)"
    SIM_API_KEYS="$KEY" "$BIN/dashscope-sim" --listen "127.0.0.1:$sim_port" --time-scale "$scale" "$@" \
        > "$work/$name-sim.log" 2>&1 &
    pids+=($!)
    wait_http "http://127.0.0.1:$sim_port/healthz"
    # The burst figures are about the seed's asynchronous API (5 running, 10 creates/s), so the
    # upstream is named: with a key the proxy would otherwise choose qwen-image.
    DASHSCOPE_API_KEY="$KEY" DASHSCOPE_BASE_URL="http://127.0.0.1:$sim_port" TRYON_UPSTREAM=aitryon \
        TRYON_LISTEN="127.0.0.1:$proxy_port" TRYON_DATA_DIR="$work/$name-data" \
        TRYON_ALLOWED_ORIGINS="http://127.0.0.1:8080" TRYON_GARMENT_PREFIXES="http://127.0.0.1:" \
        TRYON_SHOPPER_DAILY_LIMIT=0 TRYON_CREATE_WAIT_MS=0 RUST_LOG=warn \
        "$BIN/tryon-proxy" > "$work/$name-proxy.log" 2>&1 &
    pids+=($!)
    wait_http "http://127.0.0.1:$proxy_port/healthz"
    eval "${name}_sim=http://127.0.0.1:$sim_port ${name}_proxy=http://127.0.0.1:$proxy_port ${name}_pid=$!"
}

# 1. Status queries of a finished job: the proxy's record vs nginx forwarding to the emulator.
# The main emulator has its 20 queries/s limit off, so that nginx's forwarding itself is
# measured; a second emulator with the documented limit shows what a plain pass-through
# meets in production.
start_pair main 0.02 --query-rate-limit 0
read -r job task < <("$BENCH" prepare "$main_proxy" "$main_sim" "$KEY")
limited_port="$(free_port)"
start_sim "$limited_port" 0.02
nginx_port="$(free_port)"
nginx_limited_port="$(free_port)"
mkdir -p "$work/nginx"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes auto;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    upstream sim { server ${main_sim#http://}; keepalive 64; }
    upstream limited { server 127.0.0.1:$limited_port; keepalive 64; }
    server {
        listen 127.0.0.1:$nginx_port;
        location /api/v1/tasks/ {
            proxy_pass http://sim;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Authorization "Bearer $KEY";
        }
    }
    server {
        listen 127.0.0.1:$nginx_limited_port;
        location /api/v1/tasks/ {
            proxy_pass http://limited;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Authorization "Bearer $KEY";
        }
    }
}
CONF
"$NGINX" -p "$work/nginx" -c "$work/nginx/nginx.conf" &
pids+=($!)
wait_http "http://127.0.0.1:$nginx_port/api/v1/tasks/$task"

read -r proxy_rps proxy_p99 proxy_bad < <(wrk_figures "$main_proxy/api/v1/tasks/$job")
read -r nginx_rps nginx_p99 nginx_bad < <(wrk_figures "http://127.0.0.1:$nginx_port/api/v1/tasks/$task")
# Any id will do here: the emulator answers unknown ids 200 UNKNOWN, within its limit.
read -r limited_rps limited_p99 limited_bad < <(wrk_figures "http://127.0.0.1:$nginx_limited_port/api/v1/tasks/$task")

# 2. The burst: 30 creates at once against an emulator enforcing 10/s and 5 running.
read -r burst_peak burst_429 burst_ms < <("$BENCH" burst)

# 3. Memory: a fresh proxy idle, then with HOLD long polls waiting on a slow task.
start_pair hold 10
idle_kib="$(rss_kib "$hold_pid")"
ulimit -n 8192
"$BENCH" hold "$hold_proxy" "$HOLD" 20 > "$work/hold.out" &
holder=$!
pids+=($holder)
for _ in $(seq 300); do grep -q '^holding' "$work/hold.out" 2>/dev/null && break; sleep 0.1; done
held="$(awk '/^holding/ { print $2 }' "$work/hold.out")"
held_kib="$(rss_kib "$hold_pid")"
kill "$holder" 2>/dev/null || true

# 4. Replicas on PostgreSQL: one, then three sharing one database and one files folder.
start_postgres >/dev/null
psql_bin="$(postgres_bin)/psql"
start_replica() { # name database sim_url: a proxy of the shared shop, prints its base URL
    local name="$1" database="$2" sim="$3" port
    port="$(free_port)"
    DASHSCOPE_API_KEY="$KEY" DASHSCOPE_BASE_URL="$sim" TRYON_UPSTREAM=aitryon \
        TRYON_LISTEN="127.0.0.1:$port" TRYON_DATA_DIR="$work/$name-data" \
        TRYON_DATABASE_URL="${POSTGRES_URL%/postgres}/$database" \
        TRYON_STORAGE_URL="file://$work/$database-files" \
        TRYON_SHOPPER_SECRET="bench-replicas-shopper-secret-0123456789" \
        TRYON_ALLOWED_ORIGINS="http://127.0.0.1:8080" TRYON_GARMENT_PREFIXES="http://127.0.0.1:" \
        TRYON_SHOPPER_DAILY_LIMIT=0 TRYON_CREATE_WAIT_MS=0 RUST_LOG=warn \
        "$BIN/tryon-proxy" > "$work/$name-proxy.log" 2>&1 &
    pids+=($!)
    eval "${name}_pid=$!"
    wait_http "http://127.0.0.1:$port/healthz"
    eval "${name}_url=http://127.0.0.1:$port"
}
# Prints "requests/s worst-p99(ms)" of wrk run at once against every URL given, the
# connections shared out between them.
wrk_spread() {
    local each=$((CONNECTIONS / $#)) index=0 loaders=()
    for url in "$@"; do
        wrk -t1 -c"$each" -d"${DURATION}s" --latency "$url" > "$work/spread-$index.out" &
        loaders+=($!)
        index=$((index + 1))
    done
    wait "${loaders[@]}"
    awk '
        /Requests\/sec:/ { rps += $2 }
        /^ +99%/ { v = $2; if (v ~ /us$/) { sub(/us/, "", v); v /= 1000 }
                   else if (v ~ /ms$/) { sub(/ms/, "", v) }
                   else if (v ~ /s$/) { sub(/s/, "", v); v *= 1000 }
                   if (v > p99) p99 = v }
        END { printf "%.0f %.2f\n", rps, p99 }' "$work"/spread-*.out
    rm -f "$work"/spread-*.out
}
replica_sim_port="$(free_port)"
start_sim "$replica_sim_port" 0.3
replica_sim="http://127.0.0.1:$replica_sim_port"
"$psql_bin" -q "$POSTGRES_URL" -c "CREATE DATABASE one" -c "CREATE DATABASE three"
start_replica solo one "$replica_sim"
read -r solo_job _ < <("$BENCH" prepare "$solo_url" "$replica_sim" "$KEY")
read -r solo_rps solo_p99 < <(wrk_spread "$solo_url/api/v1/tasks/$solo_job")
start_replica r1 three "$replica_sim"
start_replica r2 three "$replica_sim"
start_replica r3 three "$replica_sim"
read -r three_job _ < <("$BENCH" prepare "$r1_url" "$replica_sim" "$KEY")
read -r three_rps three_p99 < <(wrk_spread "$r1_url/api/v1/tasks/$three_job" \
    "$r2_url/api/v1/tasks/$three_job" "$r3_url/api/v1/tasks/$three_job")
# The takeover: ten jobs through the second replica, five of them running upstream on the
# first (the dispatcher, which started first); then the first is SIGKILLed, and the time
# until a survivor dispatches and follows the dead one's tasks again is measured.
metric() { curl -fs "$1/metrics" | awk -v name="$2" '$1 == name { print $2 }'; }
"$BENCH" create "$r2_url" 10
for _ in $(seq 600); do [ "$(metric "$r1_url" tryon_running_tasks)" = "5" ] && break; sleep 0.05; done
kill -9 "$r1_pid"
killed_ns="$(date +%s%N)"
dispatching_ms="" resumed_ms=""
for _ in $(seq 600); do
    for url in "$r2_url" "$r3_url"; do
        if [ -z "$dispatching_ms" ] && [ "$(metric "$url" tryon_replica_dispatching)" = "1" ]; then
            dispatching_ms=$(( ($(date +%s%N) - killed_ns) / 1000000 ))
        fi
        if [ -z "$resumed_ms" ] && [ "$(metric "$url" tryon_running_tasks)" -gt 0 ] 2>/dev/null; then
            resumed_ms=$(( ($(date +%s%N) - killed_ns) / 1000000 ))
        fi
    done
    [ -n "$resumed_ms" ] && break
    sleep 0.02
done

printf '\n%-58s %14s %12s\n' "measure (loopback, $(nproc) cores, wrk -c$CONNECTIONS ${DURATION}s)" "value" "unit"
printf '%-58s %14s %12s\n' "status query via proxy (GET /api/v1/tasks/{job})" "$proxy_rps" "req/s"
printf '%-58s %14s %12s\n' "  p99 latency" "$proxy_p99" "ms"
printf '%-58s %14s %12s\n' "  non-2xx answers" "$proxy_bad" "count"
printf '%-58s %14s %12s\n' "status query via nginx proxy_pass -> emulator (no limit)" "$nginx_rps" "req/s"
printf '%-58s %14s %12s\n' "  p99 latency" "$nginx_p99" "ms"
printf '%-58s %14s %12s\n' "  non-2xx answers" "$nginx_bad" "count"
printf '%-58s %14s %12s\n' "same via nginx, emulator with documented 20 queries/s" "$limited_rps" "req/s"
printf '%-58s %14s %12s\n' "  p99 latency" "$limited_p99" "ms"
printf '%-58s %14s %12s\n' "  non-2xx answers (429 Throttling.RateQuota)" "$limited_bad" "count"
printf '%-58s %14s %12s\n' "burst of 30 creates: most tasks in the emulator at once" "$burst_peak" "tasks"
printf '%-58s %14s %12s\n' "burst: 429 answers drawn from the emulator" "$burst_429" "count"
printf '%-58s %14s %12s\n' "burst: time until all 30 ended" "$burst_ms" "ms"
printf '%-58s %14s %12s\n' "proxy RSS idle" "$((idle_kib / 1024))" "MiB"
printf '%-58s %14s %12s\n' "proxy RSS with $held long polls waiting" "$((held_kib / 1024))" "MiB"
printf '%-58s %14s %12s\n' "1 replica on PostgreSQL: status query" "$solo_rps" "req/s"
printf '%-58s %14s %12s\n' "  p99 latency" "$solo_p99" "ms"
printf '%-58s %14s %12s\n' "3 replicas on one PostgreSQL: status query, all three" "$three_rps" "req/s"
printf '%-58s %14s %12s\n' "  worst p99 latency of the three" "$three_p99" "ms"
printf '%-58s %14s %12s\n' "dispatcher SIGKILLed: until a survivor dispatches" "${dispatching_ms:-none}" "ms"
printf '%-58s %14s %12s\n' "  until the dead one's tasks are followed again" "${resumed_ms:-none}" "ms"
