#!/usr/bin/env bash
# Scale benchmark (issue 3, item 4). See README.md next to this file.
#
#   1. zone of 1,000,000 A records: time to the first answer, peak and steady
#      memory of hale (one core, all cores), NSD, Knot (and gdnsd when listed
#      in SERVERS); hale's reload of that zone changed, its time and peak
#      memory while queries keep being answered
#   2. 10,000 health-checked targets probed every second: hale's CPU for the
#      probing alone, and its DNS cost and latency while it probes, against
#      the same hale and zone without checks
#
#   benches/dns/scale.sh
#   QUICK=1 benches/dns/scale.sh              # 100k records, shorter windows
#   PARTS=targets benches/dns/scale.sh        # only part 2 (PARTS="zone targets")
#   ZONE_CPUS="0 0-1" ZONE_RUNS=3 ...         # part 1's core lists and runs (these are the defaults)
set -euo pipefail

if env_seconds=$(printenv SECONDS); then DURATION=$env_seconds; fi
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=common.sh
source "$HERE/common.sh"

QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
    RECORDS=${RECORDS:-100000}
    PROBE_WINDOW=${PROBE_WINDOW:-10}
    DURATION=${DURATION:-3}
else
    RECORDS=${RECORDS:-1000000}
    PROBE_WINDOW=${PROBE_WINDOW:-30}
    DURATION=${DURATION:-10}
fi
PARTS=${PARTS:-zone targets}
# Part 1 runs each server pinned to each of these core lists (one core, then all).
ZONE_CPUS=${ZONE_CPUS:-$SERVER_CPU 0-$(($(nproc) - 1))}
ZONE_RUNS=${ZONE_RUNS:-3}
SERVERS=${SERVERS:-hale nsd knot}
TARGET_NAMES=${TARGET_NAMES:-100}
TARGETS_PER_NAME=${TARGETS_PER_NAME:-100}
PROBE_INTERVAL=${PROBE_INTERVAL:-1}
RATE=${RATE:-20000}
SAT_OPTS=${SAT_OPTS:--T 2 -c 8 -q 1000}
FIXED_OPTS=${FIXED_OPTS:--c 8 -q 1000}
LOAD_TIMEOUT=${LOAD_TIMEOUT:-300}
# Part 1's reload of hale: queries per second meanwhile, and how long it may take.
RELOAD_RATE=${RELOAD_RATE:-1000}
RELOAD_TIMEOUT=${RELOAD_TIMEOUT:-120}
BASE_PORT=${BASE_PORT:-15300}
BACKEND_PORT=18080
OUT_DIR=${OUT_DIR:-$HERE/results}

tools=(dnsperf dig taskset python3)
for s in $SERVERS; do
    case $s in
        hale) ;;
        nsd) tools+=(nsd) ;;
        knot) tools+=(knotd knotc) ;;
        gdnsd) tools+=(gdnsd) ;;
        *) die "unknown server '$s' in SERVERS (hale nsd knot gdnsd)" ;;
    esac
done
[[ -n ${HALE_BIN:-} ]] || tools+=(cargo)
need "${tools[@]}"
cores_ok
# 10,000 probe connections need file descriptors (hale and the backends).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hale-dnsscale.XXXXXX")
mkdir -p "$OUT_DIR"
STAMP=$(date +%Y%m%d-%H%M%S)
OUT="$OUT_DIR/scale-$STAMP.md"
T_START=$(date +%s)
declare -A PORT=([hale]=$((BASE_PORT + 21)) [nsd]=$((BASE_PORT + 22)) [knot]=$((BASE_PORT + 23)) [gdnsd]=$((BASE_PORT + 24)))
HALE_ADMIN=$((BASE_PORT + 31))
HALE=""
HALE_LABEL=""
report=()

hale_label() {
    local v
    v="hale $("$HALE" --version | awk '{print $2}')"
    if [[ -n ${HALE_BIN:-} ]]; then
        v+=" (HALE_BIN)"
    elif rev=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null); then
        git -C "$REPO" diff --quiet HEAD -- src Cargo.toml Cargo.lock 2>/dev/null || rev+="+dirty"
        v+=" ($rev)"
    fi
    echo "$v"
}

if [[ " $SERVERS " == *" hale "* || " $PARTS " == *" targets "* ]]; then
    HALE=$(hale_binary)
    HALE_LABEL=$(hale_label)
fi

# ---- part 1: a zone of RECORDS A records ---------------------------------
if [[ " $PARTS " == *" zone "* ]]; then
    log "generating scale.test. with $RECORDS A records, and a changed copy (serial 2, every 100th record) to reload"
    python3 "$HERE/gen.py" scale "$WORK/zone" --records "$RECORDS"
    python3 "$HERE/gen.py" scale "$WORK/zone-changed" --records "$RECORDS" --serial 2 --change-every 100
    ZFILE="$WORK/zone/zones/scale.test.zone"
    ZFILE_CHANGED="$WORK/zone-changed/zones/scale.test.zone"
    last=$((RECORDS - 1))
    last_addr=$(python3 -c "i=$last; print(f'10.{(i>>16)&255}.{(i>>8)&255}.{i&255}')")
    changed_addr=11.${last_addr#10.}
    zsize=$(du -m "$ZFILE" | cut -f1)
    ZONE_JSON="$WORK/zone.jsonl"
    : >"$ZONE_JSON"
    # zone_row KEY=VALUE...: one line of ZONE_JSON (values are JSON already).
    zone_row() {
        local kv out=""
        for kv in "$@"; do out+="${out:+, }\"${kv%%=*}\": ${kv#*=}"; done
        echo "{$out}" >>"$ZONE_JSON"
    }
    jstr() { python3 -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$1"; }
    for cpus in $ZONE_CPUS; do
    for s in $SERVERS; do
        port_free "${PORT[$s]}" || {
            zone_row server="$(jstr "$s")" cores="$(jstr "$cpus")" label="$(jstr "$s")" note="$(jstr "port ${PORT[$s]} in use")"
            continue
        }
        times=()
        for run in $(seq "$ZONE_RUNS"); do
        row=(server="$(jstr "$s")" cores="$(jstr "$cpus")")
        dir="$WORK/zone/$s-$cpus-$run"
        mkdir -p "$dir"
        case $s in
            hale)
                label=$HALE_LABEL
                # Its own name for the file, so the reload can put the changed one there.
                ln "$ZFILE" "$dir/scale.test.zone" 2>/dev/null || cp "$ZFILE" "$dir/scale.test.zone"
                printf '[server]\nlisten = ["127.0.0.1:%s"]\nzones = "%s"\n' "${PORT[hale]}" "$dir/scale.test.zone" >"$dir/hale.toml"
                cmd=(env RUST_LOG=info "$HALE" serve --config "$dir/hale.toml")
                ;;
            nsd)
                label="NSD $(nsd -v 2>&1 | awk '/^NSD version/{print $3; exit}')"
                nsd_conf "$dir" "${PORT[nsd]}" scale.test. "$ZFILE"
                cmd=(nsd -d -c "$dir/nsd.conf")
                ;;
            knot)
                label="Knot $(knotd -V 2>&1 | awk '{print $NF; exit}')"
                knot_conf "$dir" "${PORT[knot]}" scale.test. "$ZFILE"
                cmd=(knotd -c "$dir/knot.conf")
                ;;
            gdnsd)
                label="gdnsd $(gdnsd -c "$dir" checkconf 2>&1 | awk '/gdnsd version/{print $4; exit}')"
                mkdir -p "$dir/zones"
                ln -s "$ZFILE" "$dir/zones/scale.test"
                printf 'options => {\n  listen => [ 127.0.0.1:%s ]\n  udp_threads => 1\n  tcp_threads => 1\n  zones_rfc1035_threads => 1\n  run_dir => "%s"\n  state_dir => "%s"\n}\n' \
                    "${PORT[gdnsd]}" "$dir/run" "$dir/state" >"$dir/config"
                cmd=(gdnsd -c "$dir" start)
                ;;
        esac
        row+=(label="$(jstr "$label")")
        sync
        t0=$(date +%s.%N)
        start "$s" "$dir/$s.log" taskset -c "$cpus" "${cmd[@]}"
        pid=$LAST_PID
        if secs=$(taskset -c "$CLIENT_CPU" python3 "$HERE/dnswait.py" --port "${PORT[$s]}" --name "r$last.scale.test" \
            --addr "$last_addr" --since "$t0" --timeout "$LOAD_TIMEOUT" --pid "$pid"); then
            times+=("$secs")
            if ((run == ZONE_RUNS)); then
                sleep 1 # let start-up garbage settle before reading memory
                if [[ ! -d /proc/$pid ]] || [[ $(awk '{print $3}' "/proc/$pid/stat") == Z ]]; then
                    tail -5 "$dir/$s.log" >&2 || true
                    zone_row "${row[@]}" note="$(jstr "exited after answering (see its log)")"
                else
                    # Peak RSS since exec: the highest VmHWM of the server's
                    # processes (NSD's fork after loading, sharing its pages).
                    hwm=$(python3 "$HERE/cpu.py" --hwm "$pid")
                    rss=$(python3 "$HERE/cpu.py" --rss "$pid")
                    pss=$(python3 "$HERE/cpu.py" --pss "$pid")
                    # utime+stime: counts the threads that already exited (hale's loaders).
                    cpu=$(python3 "$HERE/cpu.py" "$pid" | cut -d' ' -f2)
                    nproc_tree=$(descendants "$pid" | wc -l)
                    runs_json="[$(printf '%s\n' "${times[@]}" | paste -sd, -)]"
                    row+=(runs="$runs_json" cpu="$cpu" hwm_kib="$hwm" rss_kib="$rss" pss_kib="$pss" processes="$nproc_tree")
                    log "$s on cores $cpus: answered r$last after ${times[*]} s; peak RSS $((hwm / 1024)) MiB, then RSS $((rss / 1024)) MiB, PSS $((pss / 1024)) MiB"
                    if [[ $s == hale ]]; then
                        # SIGHUP with nothing changed (as after a config edit
                        # elsewhere), then the same zone changed (serial
                        # bumped, every 100th record's address), put in place
                        # and reloaded, while queries keep coming.
                        if reload=$(taskset -c "$CLIENT_CPU" python3 "$HERE/reload.py" --pid "$pid" --port "${PORT[hale]}" \
                            --name "r$last.scale.test" --log "$dir/$s.log" --records "$RECORDS" \
                            --rate "$RELOAD_RATE" --timeout "$RELOAD_TIMEOUT"); then
                            row+=(reload_unchanged="$reload")
                            log "hale on cores $cpus: reload of the unchanged file $reload"
                        fi
                        sleep 1
                        cp "$ZFILE_CHANGED" "$dir/next.zone"
                        mv -f "$dir/next.zone" "$dir/scale.test.zone"
                        if reload=$(taskset -c "$CLIENT_CPU" python3 "$HERE/reload.py" --pid "$pid" --port "${PORT[hale]}" \
                            --name "r$last.scale.test" --addr "$changed_addr" --records "$RECORDS" \
                            --rate "$RELOAD_RATE" --timeout "$RELOAD_TIMEOUT"); then
                            sleep 1
                            row+=(reload="$reload" rss_after_reload_kib="$(python3 "$HERE/cpu.py" --rss "$pid")")
                            log "hale on cores $cpus: reload $reload"
                        else
                            grep -i 'reload' "$dir/$s.log" | tail -3 >&2 || true
                            row+=(reload="${reload:-null}" note="$(jstr "the reload did not take within ${RELOAD_TIMEOUT}s")")
                        fi
                    fi
                    zone_row "${row[@]}"
                fi
            fi
        else
            tail -5 "$dir/$s.log" >&2 || true
            zone_row "${row[@]}" note="$(jstr "did not answer r$last within ${LOAD_TIMEOUT}s")"
            stop_pid "$pid"
            forget "$pid"
            break
        fi
        stop_pid "$pid"
        forget "$pid"
        done
    done
    done
    zone_tables=$(python3 - "$ZONE_JSON" "$SERVER_CPU" <<'EOF'
import json, sys

rows = [json.loads(line) for line in open(sys.argv[1])]
mib = lambda kib: kib / 1024


def ncores(spec):
    n = 0
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        n += int(hi or lo) - int(lo) + 1
    return n


def steady(r):
    """Steady memory: RSS, or PSS for a server of several processes (NSD)."""
    return r["rss_kib"] if r["processes"] == 1 else r["pss_kib"]


def median(xs):
    xs = sorted(xs)
    return xs[(len(xs) - 1) // 2]


out = ["| server | cores | first answer (s) | runs (s) | CPU (s) | peak RSS during load (MiB) | steady RSS (MiB) | steady PSS (MiB) | peak ÷ steady | processes |",
       "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
for r in rows:
    if "runs" not in r:
        out.append(f"| {r['label']} | {r['cores']} | {r.get('note', '')} | | | | | | | |")
        continue
    r["median"] = median(r["runs"])
    out.append("| {} | {} | {:.2f} | {} | {:.2f} | {:.0f} | {:.0f} | {:.0f} | {:.2f} | {} |".format(
        r["label"], r["cores"], r["median"], " ".join(f"{t:.2f}" for t in r["runs"]), r["cpu"],
        mib(r["hwm_kib"]), mib(r["rss_kib"]), mib(r["pss_kib"]), r["hwm_kib"] / steady(r), r["processes"]))
hale = [r for r in rows if r["server"] == "hale" and "runs" in r]
if hale:
    out += ["", "hale reloading by SIGHUP, first with the file unchanged, then with the same zone changed",
            "(serial 2, every 100th record's address), while one client asks for random names of the zone",
            "at a fixed rate:", "",
            "| server | cores | zone file | reload (s) | RSS before (MiB) | peak RSS during reload (MiB) | peak ÷ steady | RSS after (MiB) | queries during reload | answered | lost | other answers | p50 / max latency (ms) | longest wait for an answer (ms) |",
            "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in hale:
        for kind, key in (("unchanged", "reload_unchanged"), ("changed", "reload")):
            x = r.get(key)
            if not x or not x.get("ok"):
                note = r.get("note", "no reload") if key == "reload" else "no reload"
                out.append(f"| {r['label']} | {r['cores']} | {kind} | {note} | | | | | | | | | | |")
                continue
            after = f"{mib(r['rss_after_reload_kib']):.0f}" if key == "reload" else ""
            out.append("| {} | {} | {} | {:.2f} | {:.0f} | {:.0f} | {:.2f} | {} | {} | {} | {} | {} | {} / {} | {} |".format(
                r["label"], r["cores"], kind, x["reload_s"], mib(x["before_kib"]), mib(x["hwm_kib"]),
                x["hwm_kib"] / r["rss_kib"], after, x["sent"], x["answered"],
                x["lost"], x["wrong"], x["p50_ms"], x["max_ms"], x["gap_ms"]))
# Issue #13's targets.
out += ["", "Targets (issue #13, item 4):", ""]
one = [r for r in hale if ncores(r["cores"]) == 1]
peers = [r for r in rows if r["server"] in ("nsd", "knot") and "median" in r]
if one and peers:
    best = min(peers, key=lambda r: r["median"])
    h = one[0]
    ok = h["median"] <= best["median"]
    out.append(f"- first answer, hale on one core ≤ the faster of NSD and Knot: {h['median']:.2f} s vs "
               f"{best['label']} on {best['cores']} {best['median']:.2f} s, ratio {h['median'] / best['median']:.2f}: "
               f"**{'yes' if ok else 'no'}**")
for r in hale:
    ratio = r["hwm_kib"] / r["rss_kib"]
    out.append(f"- hale on {r['cores']}: peak RSS during load ÷ steady RSS = {mib(r['hwm_kib']):.0f} ÷ {mib(r['rss_kib']):.0f} = "
               f"{ratio:.2f} ≤ 1.5: **{'yes' if ratio <= 1.5 else 'no'}**")
    x = r.get("reload")
    if x and x.get("ok"):
        ratio = x["hwm_kib"] / r["rss_kib"]
        flowing = x["answered"] > 0 and x["lost"] == 0 and x["wrong"] == 0
        out.append(f"- hale on {r['cores']}: peak RSS during reload ÷ steady RSS = {mib(x['hwm_kib']):.0f} ÷ {mib(r['rss_kib']):.0f} = "
                   f"{ratio:.2f} ≤ 1.5: **{'yes' if ratio <= 1.5 else 'no'}**; answers flowing ({x['answered']} of {x['sent']} "
                   f"answered, longest wait {x['gap_ms']} ms): **{'yes' if flowing else 'no'}**")
print("\n".join(out))
EOF
)
    report+=("### Zone of $RECORDS A records (${zsize} MB zone file)" ""
        "Each server started pinned to the cores shown, $ZONE_RUNS times. First answer = from exec to the first correct"
        "answer for the zone's last name (r$last.scale.test A, polled every 5 ms over UDP): the median and"
        "every run. Memory of the last run, 1 s after it answered: peak RSS = VmHWM (the kernel's"
        "high-water mark since exec; of the largest process for NSD, which forks after loading),"
        "steady RSS = VmRSS summed over the server's processes, PSS counting the pages they share"
        "once; peak ÷ steady divides by PSS for NSD. CPU = that run's CPU time up to then"
        "(utime+stime, all threads, exited ones too)."
        "NSD and Knot read one zone on one thread whatever their cores; hale reads it on all it has."
        "Reload: \`echo 5 > /proc/PID/clear_refs\` resets VmHWM, SIGHUP with the file unchanged (reload ="
        "until hale logs \"reloaded\"), then the changed file replaces the old, SIGHUP again (reload = from"
        "SIGHUP to the first answer of r$last with its new address, $changed_addr);"
        "peak = VmHWM after it, or VmRSS of it and any process it forks, sampled every 10 ms, if higher. Queries: $RELOAD_RATE a second, each"
        "lost if unanswered after 1 s; those sent from SIGHUP to the new answer are counted."
        ""
        "$zone_tables" "")
fi

# ---- part 2: 10,000 health-checked targets -------------------------------
if [[ " $PARTS " == *" targets "* ]]; then
    ntargets=$((TARGET_NAMES * TARGETS_PER_NAME))
    log "generating targets.test. with $TARGET_NAMES names x $TARGETS_PER_NAME addresses"
    T="$WORK/targets"
    python3 "$HERE/gen.py" targets "$T" --names "$TARGET_NAMES" --per-name "$TARGETS_PER_NAME"
    # One listener per address, in as few processes as the descriptor limit allows.
    # A listener and one kept-alive probe connection per address.
    per=$((($(ulimit -Hn) - 1000) / 2))
    ((per >= 1000)) || per=1000
    shards=$(((ntargets + per - 1) / per))
    bpids=()
    for ((i = 0; i < shards; i++)); do
        start "backends-$i" "$T/backends-$i.log" taskset -c "$CLIENT_CPU" python3 "$HERE/backends.py" \
            --port "$BACKEND_PORT" --ready "$T/ready-$i" --stats "$T/served-$i" \
            --addr-file "$T/targets.txt" --shard "$i/$shards"
        bpids+=("$LAST_PID")
    done
    for ((j = 0; j < 300; j++)); do
        n=0
        for ((i = 0; i < shards; i++)); do [[ -s $T/ready-$i ]] && n=$((n + 1)); done
        ((n == shards)) && break
        for p in "${bpids[@]}"; do [[ -d /proc/$p ]] || { cat "$T"/backends-*.log >&2; die "HTTP backends failed"; }; done
        sleep 0.1
    done
    ((n == shards)) || die "HTTP backends not ready after 30 s"
    log "$ntargets HTTP backends listening on 127.1.x.y:$BACKEND_PORT ($shards processes)"

    port_free "${PORT[hale]}" || die "port ${PORT[hale]} in use"
    port_free "$HALE_ADMIN" || die "port $HALE_ADMIN in use"
    names=$(sed 's/.*/"&"/' "$T/checked-names.txt" | paste -sd, -)
    base_conf() {
        printf '[server]\nlisten = ["127.0.0.1:%s"]\nzones = "%s"\n\n[admin]\nlisten = "127.0.0.1:%s"\n' \
            "${PORT[hale]}" "$T/zones" "$HALE_ADMIN"
    }
    base_conf >"$T/hale-nochecks.toml"
    {
        base_conf
        printf '\n[[check]]\nnames = [%s]\nport = %s\npath = "/healthz"\ninterval = "%ss"\ntimeout = "1s"\n' \
            "$names" "$BACKEND_PORT" "$PROBE_INTERVAL"
    } >"$T/hale-checks.toml"
    "$HALE" check --config "$T/hale-checks.toml" >"$T/check.log" 2>&1 || { cat "$T/check.log" >&2; die "hale rejects the 10k-target config"; }

    served() { cat "$T"/served-* 2>/dev/null | awk '{s+=$1} END {print s+0}'; }
    status_summary() { # prints: targets healthy with_result latency_p50_ms latency_p90_ms
        python3 - "$HALE_ADMIN" <<'EOF'
import json, sys, urllib.request
try:
    st = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/status", timeout=5))
except Exception:
    print("0 0 0 ? ?"); sys.exit()
ts = {}
for c in st.get("checks", []):
    for t in c.get("targets", []):
        ts[t.get("target") or t.get("address")] = t
lat = sorted(t["last"]["latency_ms"] for t in ts.values() if (t.get("last") or {}).get("latency_ms") is not None)
q = lambda f: f"{lat[min(len(lat) - 1, int(f * len(lat)))]:.1f}" if lat else "?"
print(len(ts), sum(1 for t in ts.values() if t.get("healthy")), sum(1 for t in ts.values() if t.get("last")), q(0.5), q(0.9))
EOF
    }
    run_dns() { # LABEL PID: saturation and fixed-rate static runs
        taskset -c "$CLIENT_CPU" python3 "$HERE/measure.py" --server "$1" --class static --pid "$2" \
            --port "${PORT[hale]}" --queries "$T/queries/static" --seconds "$DURATION" \
            --client-cpu "$CLIENT_CPU" --server-cpu "$SERVER_CPU" --opts "$SAT_OPTS" \
            --log "$T/dnsperf-$1-sat.log" --out "$T/dns.jsonl"
        taskset -c "$CLIENT_CPU" python3 "$HERE/measure.py" --server "$1" --class static --pid "$2" \
            --port "${PORT[hale]}" --queries "$T/queries/static" --seconds "$DURATION" --rate "$RATE" \
            --client-cpu "$CLIENT_CPU" --server-cpu "$SERVER_CPU" --opts "$FIXED_OPTS" \
            --log "$T/dnsperf-$1-fixed.log" --out "$T/dns.jsonl"
    }

    # (a) baseline: the same zone, no checks
    start hale-nochecks "$T/hale-nochecks.log" env RUST_LOG=info taskset -c "$SERVER_CPU" "$HALE" serve --config "$T/hale-nochecks.toml"
    pid=$LAST_PID
    wait_dns "${PORT[hale]}" targets.test "$pid" 60 >/dev/null || die "hale (no checks) did not answer"
    read -r c0 _ < <(python3 "$HERE/cpu.py" "$pid")
    sleep 5
    read -r c1 _ < <(python3 "$HERE/cpu.py" "$pid")
    idle_nochecks=$(python3 -c "print(f'{($c1 - $c0) / 5:.4f}')")
    run_dns nochecks "$pid"
    stop_pid "$pid"
    forget "$pid"

    # (b) 10,000 targets every PROBE_INTERVAL s
    start hale-checks "$T/hale-checks.log" env RUST_LOG=info taskset -c "$SERVER_CPU" "$HALE" serve --config "$T/hale-checks.toml"
    pid=$LAST_PID
    ts0=$(date +%s.%N)
    wait_dns "${PORT[hale]}" targets.test "$pid" 60 >/dev/null || die "hale (10k checks) did not answer"
    # wait until every target has a probe result (bounded)
    for ((j = 0; j < 60; j++)); do
        read -r nt nh nr _ < <(status_summary)
        ((nr >= ntargets)) && break
        sleep 1
    done
    first_round=$(python3 -c "import time; print(f'{time.time() - $ts0:.1f}')")
    log "hale: $nt targets, $nh healthy, $nr with a result after ${first_round}s"
    sleep 3 # past the start-up jitter
    backends_cpu() { local p t=0; for p in "${bpids[@]}"; do t=$(python3 -c "print($t + $(python3 "$HERE/cpu.py" "$p" | cut -d' ' -f1))"); done; echo "$t"; }
    s0=$(served)
    b0=$(backends_cpu)
    k0=$(python3 "$HERE/cpu.py" --core "$SERVER_CPU")
    read -r c0 _ < <(python3 "$HERE/cpu.py" "$pid")
    w0=$(date +%s.%N)
    sleep "$PROBE_WINDOW"
    read -r c1 _ < <(python3 "$HERE/cpu.py" "$pid")
    w1=$(date +%s.%N)
    k1=$(python3 "$HERE/cpu.py" --core "$SERVER_CPU")
    other_core=$(python3 -c "print(f'{max(0.0, ($k1 - $k0) - ($c1 - $c0)) / ($w1 - $w0):.2f}')")
    b1=$(backends_cpu)
    s1=$(served)
    backend_core=$(python3 -c "print(f'{($b1 - $b0) / ($w1 - $w0):.2f}')")
    read -r nt nh nr lat50 lat90 < <(status_summary)
    probe_core=$(python3 -c "print(f'{($c1 - $c0) / ($w1 - $w0):.3f}')")
    probes_per_s=$(python3 -c "print(f'{($s1 - $s0) / ($w1 - $w0):.0f}')")
    log "hale probing $ntargets targets: $probe_core cores over ${PROBE_WINDOW}s, $probes_per_s probes/s; $nh/$nt healthy"
    run_dns checks "$pid"
    read -r nt2 nh2 _ _ _ < <(status_summary)
    rss=$(python3 "$HERE/cpu.py" --rss "$pid")
    stop_pid "$pid"
    forget "$pid"
    for p in "${bpids[@]}"; do stop_pid "$p"; forget "$p"; done

    table=$(python3 - "$T/dns.jsonl" "$probe_core" "$idle_nochecks" <<'EOF'
import json, sys
rows = {(r["server"], r["mode"]): r for r in map(json.loads, open(sys.argv[1]))}
probe, idle = float(sys.argv[2]), float(sys.argv[3])
out = ["| hale | QPS at saturation | CPU µs/query at saturation | CPU µs/query at 20k (raw) | CPU µs/query at 20k net of probing | p50 µs at 20k | p99 µs at 20k | lost at 20k |",
       "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
for key, label, bg in (("nochecks", "no checks", idle), ("checks", "10,000 targets probed", probe)):
    s, f = rows.get((key, "sat"), {}), rows.get((key, "fixed"), {})
    raw = f.get("us_per_query")
    net = None
    if f.get("completed"):
        net = (f["server_cpu_s"] - bg * f["runtime_s"]) / f["completed"] * 1e6
    out.append("| {} | {:.1f}k | {} | {} | {} | {} | {} | {} |".format(
        label, (s.get("qps") or 0) / 1000, s.get("us_per_query"), raw,
        f"{net:.2f}" if net is not None else "–", f.get("p50_us"), f.get("p99_us"), f.get("lost")))
print("\n".join(out))
EOF
)
    report+=("### $ntargets health-checked targets, probed every ${PROBE_INTERVAL}s"
        ""
        "targets.test.: $TARGET_NAMES checked names x $TARGETS_PER_NAME A records on 127.1.x.y, one [[check]]"
        "(port $BACKEND_PORT, /healthz, timeout 1s) plus 10,000 static names; backends: $shards Python epoll process(es)"
        "on core $CLIENT_CPU with one listener per address. hale pinned to core $SERVER_CPU."
        ""
        "- all $ntargets targets had a probe result ${first_round}s after start; healthy: $nh/$nt after the probe window, $nh2/$nt2 after the DNS runs"
        "- **hale CPU while probing (no DNS load): $probe_core cores** over ${PROBE_WINDOW}s (same hale without checks, idle: $idle_nochecks cores); other processes used $other_core of core $SERVER_CPU meanwhile"
        "- probe requests answered by the backends during that window: **$probes_per_s per second** (every target once per ${PROBE_INTERVAL}s would be $((ntargets / PROBE_INTERVAL))); the backends used $backend_core cores of core $CLIENT_CPU; probe latency as hale's /status reports it: p50 $lat50 ms, p90 $lat90 ms"
        "- hale RSS with $ntargets targets: $((rss / 1024)) MiB"
        "- DNS during probing, static names, ${DURATION}s per run (\"net of probing\" subtracts the probing CPU rate measured above):"
        ""
        "$table"
        "")
fi

T_END=$(date +%s)
{
    echo "## hale scale benchmark ($(date -u '+%Y-%m-%d %H:%M UTC'))"
    echo
    echo "Run with: \`QUICK=$QUICK PARTS=\"$PARTS\" SERVERS=\"$SERVERS\" RECORDS=$RECORDS benches/dns/scale.sh\` — total $((T_END - T_START)) s"
    echo
    echo "- machine: $(nproc --all) cores, $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo), Linux $(uname -r); load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
    [[ -z $HALE ]] || echo "- $HALE_LABEL"
    echo
    printf '%s\n' "${report[@]}"
} >"$OUT"
echo
cat "$OUT"
log "report: $OUT"
