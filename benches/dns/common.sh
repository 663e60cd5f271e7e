# shellcheck shell=bash
# Shared by run.sh and scale.sh; sourced, not run. Needs HERE and REPO set.
# Every process started here is recorded in PIDS and stopped by cleanup().

PIDS=()
WORK=""
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

# need TOOL... : exit with the apt-get line when any is missing.
need() {
    local missing=() pkgs=() t p
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 && continue
        missing+=("$t")
        case $t in
            dnsperf | resperf) p=dnsperf ;;
            nsd) p=nsd ;;
            knotd | knotc) p=knot ;;
            gdnsd | gdnsdctl) p=gdnsd ;;
            dig) p=bind9-dnsutils ;;
            taskset) p=util-linux ;;
            python3) p=python3 ;;
            curl) p=curl ;;
            cargo) p="" ;;
            *) p=$t ;;
        esac
        [[ -z $p || " ${pkgs[*]} " == *" $p "* ]] || pkgs+=("$p")
    done
    if ((${#missing[@]})); then
        echo "missing: ${missing[*]}" >&2
        ((${#pkgs[@]} == 0)) || echo "install with:  apt-get install ${pkgs[*]}" >&2
        [[ " ${missing[*]} " != *" cargo "* ]] ||
            echo "cargo builds hale: install Rust (https://rustup.rs, or apt-get install cargo), or set HALE_BIN=/path/to/hale" >&2
        echo "(or measure fewer servers, e.g. SERVERS=\"nsd knot gdnsd\" $0)" >&2
        exit 1
    fi
}

cores_ok() {
    local n
    n=$(nproc --all)
    ((n >= 2)) || die "needs 2 cores (server on core $SERVER_CPU, dnsperf on core $CLIENT_CPU); this machine has $n"
    taskset -c "$SERVER_CPU" true 2>/dev/null || die "cannot pin to core $SERVER_CPU (SERVER_CPU)"
    taskset -c "$CLIENT_CPU" true 2>/dev/null || die "cannot pin to core $CLIENT_CPU (CLIENT_CPU)"
}

# descendants PID: PID and every live descendant.
descendants() { python3 "$HERE/cpu.py" --tree "$1" 2>/dev/null || echo "$1"; }

# stop_pid PID: SIGTERM the process and its descendants, SIGKILL after 5 s.
stop_pid() {
    local pid=$1 all p i
    [[ -d /proc/$pid ]] || return 0
    mapfile -t all < <(descendants "$pid")
    kill -TERM "${all[@]}" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        local alive=0
        for p in "${all[@]}"; do
            # zombies (state Z) count as gone
            if [[ -r /proc/$p/stat ]] && [[ $(awk '{print $3}' "/proc/$p/stat" 2>/dev/null) != Z ]]; then alive=1; fi
        done
        ((alive)) || break
        sleep 0.1
    done
    kill -KILL "${all[@]}" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
    if [[ -n $WORK && -d $WORK ]]; then
        if [[ ${KEEP:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start NAME LOGFILE CMD...: start CMD in the background, record its PID in
# the global LAST_PID and in PIDS.
start() {
    local name=$1 logf=$2
    shift 2
    "$@" >"$logf" 2>&1 &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
    log "started $name (pid $LAST_PID): $*"
}

# forget PID: drop a stopped PID from PIDS.
forget() {
    local keep=() p
    for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

# port_free PORT: true when nothing listens on 127.0.0.1:PORT (UDP and TCP).
port_free() {
    python3 - "$1" <<'EOF'
import socket, sys
port = int(sys.argv[1])
for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    # Servers bind with SO_REUSEADDR too: TIME_WAIT leftovers do not count.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        sys.exit(1)
    finally:
        s.close()
EOF
}

# wait_dns PORT NAME PID TIMEOUT_S: poll until the server answers NAME SOA
# with NOERROR; fails early when PID died. Prints seconds waited.
wait_dns() {
    local port=$1 name=$2 pid=$3 limit=$4 t0 now
    t0=$(date +%s.%N)
    while :; do
        if dig +time=1 +tries=1 +norec @127.0.0.1 -p "$port" "$name" SOA 2>/dev/null | grep -q 'status: NOERROR'; then
            now=$(date +%s.%N)
            python3 -c "print(f'{$now - $t0:.3f}')"
            return 0
        fi
        [[ -d /proc/$pid ]] || return 1
        now=$(date +%s.%N)
        python3 -c "import sys; sys.exit(0 if $now - $t0 < $limit else 1)" || return 1
        sleep 0.05
    done
}

# hale_binary: build (unless HALE_BIN is set) and print the binary's path
# (under CARGO_TARGET_DIR when that is set).
hale_binary() {
    if [[ -n ${HALE_BIN:-} ]]; then
        [[ -x $HALE_BIN ]] || die "HALE_BIN=$HALE_BIN is not executable"
        echo "$HALE_BIN"
        return
    fi
    need cargo
    log "cargo build --release (in $REPO)"
    # Without the benchmarks' OUT_DIR: build scripts (ring's) read that
    # variable, and cargo would rebuild them whenever it changed.
    (cd "$REPO" && env -u OUT_DIR cargo build --release --quiet >&2) || die "cargo build --release failed"
    local target=${CARGO_TARGET_DIR:-target}
    [[ $target == /* ]] || target="$REPO/$target"
    echo "$target/release/hale"
}

# hale_workers_line CONFIG BIN: add `workers = N` under [server] when this
# hale accepts it (HALE_WORKERS, default 1); otherwise leave the config as is.
# Prints what it did.
hale_workers() {
    local conf=$1 bin=$2 n=${HALE_WORKERS:-1} try
    try="$conf.workers"
    sed "s/^\[server\]$/[server]\nworkers = $n/" "$conf" >"$try"
    if "$bin" check --config "$try" >/dev/null 2>&1; then
        mv "$try" "$conf"
        echo "[server] workers = $n"
    else
        rm -f "$try"
        echo "no [server] workers knob in this build; one core via taskset"
    fi
}

# nsd_conf DIR PORT ZONE_NAME ZONE_FILE: write DIR/nsd.conf
nsd_conf() {
    local dir=$1 port=$2 zname=$3 zfile=$4
    mkdir -p "$dir"
    cat >"$dir/nsd.conf" <<EOF
server:
    port: $port
    ip-address: 127.0.0.1
    server-count: 1
    zonesdir: "$(dirname "$zfile")"
    username: ""
    chroot: ""
    pidfile: "$dir/nsd.pid"
    database: ""
    zonelistfile: "$dir/zone.list"
    xfrdfile: "$dir/xfrd.state"
    xfrdir: "$dir"
    verbosity: 1
    # Debian's NSD rate-limits responses (RRL) by default: 200 per second
    # per name and /24, which a benchmark from 127.0.0.1 trips at once.
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: "$zname"
    zonefile: "$(basename "$zfile")"
EOF
}

# knot_conf DIR PORT ZONE_NAME ZONE_FILE: write DIR/knot.conf
knot_conf() {
    local dir=$1 port=$2 zname=$3 zfile=$4
    mkdir -p "$dir"
    cat >"$dir/knot.conf" <<EOF
server:
    rundir: "$dir"
    listen: 127.0.0.1@$port
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: info
database:
    storage: "$dir"
template:
  - id: default
    storage: "$(dirname "$zfile")"
    journal-content: none
    zonefile-sync: -1
zone:
  - domain: $zname
    file: "$(basename "$zfile")"
EOF
}
