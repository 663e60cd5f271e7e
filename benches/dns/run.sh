#!/usr/bin/env bash
# DNS benchmark: hale against NSD, Knot and gdnsd on the same zone, same
# machine, same run; one markdown table. See README.md next to this file.
#
#   benches/dns/run.sh                      # everything: 5 rounds of 4 s at saturation, 4 s at 20k QPS
#   QUICK=1 benches/dns/run.sh              # one round of 2 s measurements
#   SERVERS="hale gdnsd" CLASSES="mixed nxdomain" SECONDS=5 benches/dns/run.sh
set -euo pipefail

# bash's SECONDS counts up from the value it was given: read it first.
if env_seconds=$(printenv SECONDS); then DURATION=$env_seconds; fi
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=common.sh
source "$HERE/common.sh"

QUICK=${QUICK:-0}
if [[ -z ${DURATION:-} ]]; then
    if [[ $QUICK == 1 ]]; then DURATION=2; else DURATION=4; fi
fi
SERVERS=${SERVERS:-hale nsd knot gdnsd}
CLASSES=${CLASSES:-checked static nxdomain mixed}
RATE=${RATE:-20000}                        # the fixed-rate run (dnsperf -Q)
SAT_OPTS=${SAT_OPTS:--T 2 -c 8 -q 1000}    # dnsperf options for saturation
FIXED_OPTS=${FIXED_OPTS:--c 8 -q 1000}     # dnsperf options for the fixed rate (+ -Q RATE -v)
EDNS=${EDNS:-0}                            # 1: queries carry EDNS(0) (dnsperf -e)
BASE_PORT=${BASE_PORT:-15300}
CHECK_INTERVAL=${CHECK_INTERVAL:-1}        # seconds between probes (gdnsd: at least 2)
WARMUP=${WARMUP:-1}                        # seconds of unrecorded mixed load per server
if [[ $QUICK == 1 ]]; then ROUNDS=${ROUNDS:-1}; else ROUNDS=${ROUNDS:-5}; fi # saturation runs per server and class; the table shows medians
FIXED_ROUNDS=${FIXED_ROUNDS:-1}            # fixed-rate runs (latency) per server and class, at most ROUNDS
STATIC_NAMES=${STATIC_NAMES:-10000}
QUERIES=${QUERIES:-100000}
OUT_DIR=${OUT_DIR:-$HERE/results}
TRANSPORT=${TRANSPORT:-udp}                # or tcp: dnsperf -m tcp, queries pipelined per connection
if [[ $EDNS == 1 ]]; then SAT_OPTS+=" -e"; FIXED_OPTS+=" -e"; fi
case $TRANSPORT in
    udp) ;;
    tcp) SAT_OPTS+=" -m tcp"; FIXED_OPTS+=" -m tcp" ;;
    *) die "TRANSPORT must be udp or tcp, got '$TRANSPORT'" ;;
esac

for s in $SERVERS; do
    case $s in hale | nsd | knot | gdnsd) ;; *) die "unknown server '$s' in SERVERS (hale nsd knot gdnsd)" ;; esac
done
for c in $CLASSES; do
    case $c in checked | static | nxdomain | mixed) ;; *) die "unknown class '$c' in CLASSES (checked static nxdomain mixed)" ;; esac
done
[[ $DURATION =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "SECONDS must be a number, got '$DURATION'"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, got '$ROUNDS'"
[[ $FIXED_ROUNDS =~ ^[0-9]+$ ]] || die "FIXED_ROUNDS must be a whole number, got '$FIXED_ROUNDS'"

tools=(dnsperf dig taskset python3)
for s in $SERVERS; do
    case $s in
        nsd) tools+=(nsd) ;;
        knot) tools+=(knotd knotc) ;;
        gdnsd) tools+=(gdnsd gdnsdctl) ;;
    esac
done
[[ " $SERVERS " != *" hale "* || -n ${HALE_BIN:-} ]] || tools+=(cargo)
need "${tools[@]}"
cores_ok

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hale-dnsbench.XXXXXX")
mkdir -p "$OUT_DIR"
STAMP=$(date +%Y%m%d-%H%M%S)
RESULTS="$WORK/results.jsonl"
: >"$RESULTS"
T_START=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

declare -A PORT=([hale]=$((BASE_PORT + 1)) [nsd]=$((BASE_PORT + 2)) [knot]=$((BASE_PORT + 3)) [gdnsd]=$((BASE_PORT + 4)))
HALE_ADMIN=$((BASE_PORT + 11))
BACKENDS=(127.0.0.21 127.0.0.22 127.0.0.23)
BACKEND_PORT=18080
declare -A LABEL SKIPPED

# ---- 1. zone and queries -------------------------------------------------
log "generating zone ($STATIC_NAMES static names + www) and ${QUERIES}-line query files in $WORK"
python3 "$HERE/gen.py" bench "$WORK" --static "$STATIC_NAMES" --queries "$QUERIES"

# ---- 2. health backends --------------------------------------------------
start backends "$WORK/backends.log" taskset -c "$CLIENT_CPU" python3 "$HERE/backends.py" \
    --port "$BACKEND_PORT" --ready "$WORK/backends.ready" "${BACKENDS[@]}"
BACKENDS_PID=$LAST_PID
for ((i = 0; i < 100; i++)); do
    [[ -s $WORK/backends.ready ]] && break
    [[ -d /proc/$BACKENDS_PID ]] || { cat "$WORK/backends.log" >&2; die "HTTP backends failed to start (port $BACKEND_PORT taken on 127.0.0.21-23?)"; }
    sleep 0.1
done
[[ -s $WORK/backends.ready ]] || die "HTTP backends not ready after 10 s"

# ---- 3. servers ----------------------------------------------------------
start_hale() {
    local bin dir=$WORK/hale
    bin=$(hale_binary) || return 1
    mkdir -p "$dir"
    LABEL[hale]="hale $("$bin" --version | awk '{print $2}')"
    local rev
    if [[ -n ${HALE_BIN:-} ]]; then
        LABEL[hale]+=" (HALE_BIN)"
    elif rev=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null); then
        git -C "$REPO" diff --quiet HEAD -- src Cargo.toml Cargo.lock 2>/dev/null || rev+="+dirty"
        LABEL[hale]+=" ($rev)"
    fi
    cat >"$dir/hale.toml" <<EOF
[server]
listen = ["127.0.0.1:${PORT[hale]}"]
zones = "../zones"

[admin]
listen = "127.0.0.1:$HALE_ADMIN"

[[check]]
names = ["www.bench.test."]
port = $BACKEND_PORT
path = "/healthz"
interval = "${CHECK_INTERVAL}s"
timeout = "1s"
${HALE_POLICY:+$(printf '%b' "$HALE_POLICY")}
EOF
    HALE_WORKERS_NOTE=$(hale_workers "$dir/hale.toml" "$bin")
    "$bin" check --config "$dir/hale.toml" >"$dir/check.log" 2>&1 || { cat "$dir/check.log" >&2; return 1; }
    port_free "$HALE_ADMIN" || { log "port $HALE_ADMIN (hale admin) is in use"; return 1; }
    start hale "$dir/hale.log" env RUST_LOG="${HALE_LOG:-info}" taskset -c "$SERVER_CPU" "$bin" serve --config "$dir/hale.toml"
}

start_nsd() {
    local dir=$WORK/nsd
    nsd_conf "$dir" "${PORT[nsd]}" bench.test. "$WORK/zones/bench.test.zone"
    LABEL[nsd]="NSD $(nsd -v 2>&1 | awk '/^NSD version/{print $3; exit}')"
    start nsd "$dir/nsd.log" taskset -c "$SERVER_CPU" nsd -d -c "$dir/nsd.conf"
}

start_knot() {
    local dir=$WORK/knot
    knot_conf "$dir" "${PORT[knot]}" bench.test. "$WORK/zones/bench.test.zone"
    knotc -c "$dir/knot.conf" conf-check >"$dir/check.log" 2>&1 || { cat "$dir/check.log" >&2; return 1; }
    LABEL[knot]="Knot $(knotd -V 2>&1 | awk '{print $NF; exit}')"
    start knot "$dir/knot.log" taskset -c "$SERVER_CPU" knotd -c "$dir/knot.conf"
}

start_gdnsd() {
    local dir=$WORK/gdnsd interval=$CHECK_INTERVAL
    ((interval >= 2)) || interval=2 # gdnsd's minimum
    mkdir -p "$dir/zones"
    cp "$WORK/gdnsd-zone/bench.test" "$dir/zones/bench.test"
    cat >"$dir/config" <<EOF
options => {
  listen => [ 127.0.0.1:${PORT[gdnsd]} ]
  udp_threads => 1
  tcp_threads => 1
  run_dir => "$dir/run"
  state_dir => "$dir/state"
}
service_types => {
  web => {
    plugin => http_status
    port => $BACKEND_PORT
    url_path => /healthz
    interval => $interval
    timeout => 1
    up_thresh => 2
    ok_thresh => 2
    down_thresh => 3
  }
}
plugins => {
  multifo => {
    www => { service_types => web, a => ${BACKENDS[0]}, b => ${BACKENDS[1]}, c => ${BACKENDS[2]} }
  }
}
EOF
    gdnsd -c "$dir" checkconf >"$dir/check.log" 2>&1 || { cat "$dir/check.log" >&2; return 1; }
    LABEL[gdnsd]="gdnsd $(gdnsd -c "$dir" checkconf 2>&1 | awk '/gdnsd version/{print $4; exit}')"
    start gdnsd "$dir/gdnsd.log" taskset -c "$SERVER_CPU" gdnsd -c "$dir" start
}

# health_ready SERVER: wait until every health-checked backend is up with a
# real probe result (gdnsd starts them DOWN and needs a few passes).
health_ready() {
    local s=$1 i
    for ((i = 0; i < 300; i++)); do
        case $s in
            hale)
                python3 - "$HALE_ADMIN" <<'EOF' && return 0
import json, sys, urllib.request
try:
    st = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/status", timeout=1))
except Exception:
    sys.exit(1)
ts = [t for c in st.get("checks", []) for t in c.get("targets", [])]
ok = len(ts) == 3 and all(t.get("healthy") and (t.get("last") or {}).get("ok") for t in ts)
sys.exit(0 if ok else 1)
EOF
                ;;
            gdnsd)
                local st
                st=$(gdnsdctl -c "$WORK/gdnsd" states 2>/dev/null || true)
                [[ $(grep -c '"state": "UP"' <<<"$st") == 3 ]] && return 0
                ;;
            *) return 0 ;;
        esac
        sleep 0.1
    done
    return 1
}

# verify SERVER: the answers the benchmark relies on.
verify() {
    local s=$1 port=${PORT[$1]} got
    got=$(dig +time=1 +tries=2 +norec +short @127.0.0.1 -p "$port" www.bench.test A | sort | tr '\n' ' ')
    if [[ $s == hale && -n ${HALE_POLICY:-} ]]; then
        # An answer policy may serve a subset (max_answers): any backend will do.
        [[ $got == 127.0.0.2* ]] || { log "$s: www.bench.test A gave '$got', want backends"; return 1; }
    else
        [[ $got == "127.0.0.21 127.0.0.22 127.0.0.23 " ]] || { log "$s: www.bench.test A gave '$got', want the 3 backends"; return 1; }
    fi
    got=$(dig +time=1 +tries=2 +norec +short @127.0.0.1 -p "$port" s4242.bench.test A)
    [[ $got == "10.0.16.146" ]] || { log "$s: s4242.bench.test A gave '$got', want 10.0.16.146"; return 1; }
    got=$(dig +time=1 +tries=2 +norec @127.0.0.1 -p "$port" nx0123456789.bench.test A)
    grep -q 'status: NXDOMAIN' <<<"$got" || { log "$s: nx0123456789.bench.test did not give NXDOMAIN"; return 1; }
    grep -q 'flags: qr aa' <<<"$got" || { log "$s: NXDOMAIN answer without AA"; return 1; }
}

measure() { # SERVER PID CLASS [RATE]
    local s=$1 pid=$2 c=$3 rate=${4:-}
    local args=(--server "$s" --class "$c" --pid "$pid" --port "${PORT[$s]}" --queries "$WORK/queries/$c"
        --seconds "$DURATION" --client-cpu "$CLIENT_CPU" --server-cpu "$SERVER_CPU" --out "$RESULTS")
    if [[ -n $rate ]]; then
        args+=(--rate "$rate" --opts "$FIXED_OPTS" --log "$WORK/dnsperf-$s-$c-fixed-r${round:-1}.log")
    else
        args+=(--opts "$SAT_OPTS" --log "$WORK/dnsperf-$s-$c-sat-r${round:-1}.log")
    fi
    taskset -c "$CLIENT_CPU" python3 "$HERE/measure.py" "${args[@]}"
}

HALE_WORKERS_NOTE="not run"
declare -A SPID
ACTIVE=()
for s in $SERVERS; do
    LABEL[$s]=$s
    port_free "${PORT[$s]}" || { SKIPPED[$s]="port ${PORT[$s]} in use (set BASE_PORT)"; log "${SKIPPED[$s]}"; continue; }
    if ! "start_$s"; then SKIPPED[$s]="did not start (build or config failed; see the script's log)"; continue; fi
    pid=$LAST_PID
    if ! waited=$(wait_dns "${PORT[$s]}" bench.test "$pid" 60); then
        tail -20 "$WORK/$s/$s.log" >&2 || true
        SKIPPED[$s]="did not answer within 60 s"
        stop_pid "$pid"; forget "$pid"; continue
    fi
    log "$s answers after ${waited}s; waiting for its health checks"
    health_ready "$s" || log "warning: $s health checks not all up after 30 s; measuring anyway"
    if ! verify "$s"; then
        SKIPPED[$s]="wrong answers in the pre-check (see the log)"
        stop_pid "$pid"; forget "$pid"; continue
    fi
    if [[ $WARMUP != 0 ]]; then
        # shellcheck disable=SC2086 # SAT_OPTS is several options
        taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "${PORT[$s]}" -d "$WORK/queries/mixed" -l "$WARMUP" -t 1 $SAT_OPTS >/dev/null 2>&1 || true
    fi
    SPID[$s]=$pid
    ACTIVE+=("$s")
done
((${#ACTIVE[@]})) || die "no server could be measured"

# ---- 4. measurements -----------------------------------------------------
# All servers stay up (idle ones cost nothing) and the servers take turns
# within each class, so load from other processes on a shared machine falls
# on every server alike rather than on whichever ran at a bad moment.
for ((round = 1; round <= ROUNDS; round++)); do
for c in $CLASSES; do
    for s in "${ACTIVE[@]}"; do
        if [[ ! -d /proc/${SPID[$s]} ]]; then
            log "warning: $s has exited; see $WORK/$s/$s.log"
            continue
        fi
        measure "$s" "${SPID[$s]}" "$c"
        ((round > FIXED_ROUNDS)) || measure "$s" "${SPID[$s]}" "$c" "$RATE"
    done
done
done
for s in "${ACTIVE[@]}"; do
    [[ -d /proc/${SPID[$s]} ]] || log "warning: $s exited during the measurements (see the notes column)"
    stop_pid "${SPID[$s]}"; forget "${SPID[$s]}"
done

# ---- 5. table ------------------------------------------------------------
T_END=$(date +%s)
export META_SERVERS="$SERVERS" META_CLASSES="$CLASSES" META_RATE="$RATE"
{
    for s in $SERVERS; do printf 'label\t%s\t%s\n' "$s" "${LABEL[$s]:-$s}"; done
    for s in "${!SKIPPED[@]}"; do printf 'skipped\t%s\t%s\n' "$s" "${SKIPPED[$s]}"; done
    printf 'header\t%s\n' \
        "## DNS benchmark: hale vs NSD, Knot, gdnsd ($(date -u '+%Y-%m-%d %H:%M UTC'))" \
        "" \
        "Run with: \`$(for v in QUICK SERVERS CLASSES RATE EDNS TRANSPORT ROUNDS FIXED_ROUNDS; do printf '%s="%s" ' "$v" "${!v}"; done)SECONDS=$DURATION benches/dns/run.sh\`" \
        "" \
        "- machine: $(nproc --all) cores, $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo), Linux $(uname -r); load average at start $LOAD_START, at end $(cut -d' ' -f1-3 /proc/loadavg)" \
        "- each server pinned to core $SERVER_CPU with one worker (NSD server-count 1, Knot udp-workers and tcp-workers 1, gdnsd udp_threads and tcp_threads 1, hale: $HALE_WORKERS_NOTE); dnsperf $(dnsperf -h 2>&1 | awk '/^Version/{print $2}') pinned to core $CLIENT_CPU; ${TRANSPORT^^} over 127.0.0.1" \
        "- zone bench.test.: SOA, NS, $STATIC_NAMES static A names, www with 3 A on local HTTP backends (hale: [[check]] every ${CHECK_INTERVAL}s; gdnsd: multifo + http_status every $((CHECK_INTERVAL >= 2 ? CHECK_INTERVAL : 2))s)" \
        "- ${DURATION} s per measurement$( ((ROUNDS == 1)) || echo "; saturation $ROUNDS rounds, fixed rate $((FIXED_ROUNDS < ROUNDS ? FIXED_ROUNDS : ROUNDS)), the servers taking turns within each round; every figure is the median of its rounds"); saturation: \`dnsperf $SAT_OPTS\`; fixed rate: \`dnsperf $FIXED_OPTS -Q $RATE -v\` (p50/p99 from the per-query latencies)" \
        "- CPU µs/query = server's CPU time (all threads and processes, /proc/PID/task/*/schedstat) ÷ answered queries" \
        "- total run time $((T_END - T_START)) s"
} >"$WORK/meta.tsv"
python3 - "$WORK/meta.tsv" "$WORK/meta.json" <<'EOF'
import json, os, sys
meta = {"servers": {}, "skipped": {}, "header": [], "stand_in": ["nsd", "knot"],
        "order": os.environ["META_SERVERS"].split(), "classes": os.environ["META_CLASSES"].split(),
        "rate": int(os.environ["META_RATE"])}
for line in open(sys.argv[1]):
    kind, _, rest = line.rstrip("\n").partition("\t")
    if kind == "header":
        meta["header"].append(rest)
    else:
        k, _, v = rest.partition("\t")
        meta["servers" if kind == "label" else "skipped"][k] = v
json.dump(meta, open(sys.argv[2], "w"))
EOF
OUT="$OUT_DIR/dns-$STAMP.md"
python3 "$HERE/table.py" "$RESULTS" "$WORK/meta.json" >"$OUT"
cp "$RESULTS" "$OUT_DIR/dns-$STAMP.jsonl"
cp "$WORK/meta.json" "$OUT_DIR/dns-$STAMP.meta.json"
echo
cat "$OUT"
echo
log "table: $OUT (raw measurements: $OUT_DIR/dns-$STAMP.jsonl, header: dns-$STAMP.meta.json)"
