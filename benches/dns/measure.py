#!/usr/bin/env python3
"""One dnsperf measurement against one server process tree (stdlib only).

Reads the server's CPU time (see cpu.py) and the per-core counters of
/proc/stat right before dnsperf starts and right after it exits, runs dnsperf
pinned to the client core, and appends one JSON object to --out:

  qps, completed, sent, lost, rcodes, server_cpu_s (schedstat, ns resolution),
  server_cpu_stat_s (utime+stime, tick resolution), us_per_query,
  server_user_s and us_per_query_user (utime alone: the server's own work),
  server_core (server CPU seconds per second of dnsperf run time), other_core
  and other_client_core (CPU used on the server's and on dnsperf's core by
  anything else, hypervisor steal included: noise indicators), client_core
  (dnsperf's own CPU per wall second; it spins while it waits), and for
  --rate runs the latency percentiles from dnsperf -v's per-query lines.
"""
import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cpu  # noqa: E402


def core_ticks(core):
    """(busy, total) ticks of one core: busy = user+nice+system of all tasks,
    plus steal (time the hypervisor gave the virtual core to someone else)."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith(f"cpu{core} "):
                v = [int(x) for x in line.split()[1:]] + [0] * 8
                return v[0] + v[1] + v[2] + v[7], sum(v)
    return 0, 0


def tree_cpu(pid):
    """(schedstat seconds, utime+stime, utime) of the process tree; each
    process's /proc/P/stat read once."""
    ps = cpu.tree(pid)
    times = [cpu.times(p) for p in ps]
    return (sum(cpu.sched_seconds(p) for p in ps), sum(u + s for u, s in times),
            sum(u for u, _ in times))


def pct(sorted_vals, q):
    if not sorted_vals:
        return None
    i = min(len(sorted_vals) - 1, max(0, int(round(q * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[i]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server", required=True)
    p.add_argument("--class", dest="klass", required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--queries", required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--rate", type=int, help="fixed rate (-Q) with per-query latency (-v)")
    p.add_argument("--client-cpu", default="1")
    p.add_argument("--server-cpu", default="0")
    p.add_argument("--opts", default="-T 2 -c 8 -q 1000")
    p.add_argument("--log", required=True, help="dnsperf output file")
    p.add_argument("--out", help="append the JSON line here")
    a = p.parse_args()

    cmd = ["taskset", "-c", a.client_cpu, "dnsperf", "-s", "127.0.0.1", "-p", str(a.port),
           "-d", a.queries, "-l", f"{a.seconds:g}", "-t", "1"] + a.opts.split()
    if a.rate:
        cmd += ["-Q", str(a.rate), "-v"]
    hz = os.sysconf("SC_CLK_TCK")
    s0, st0, u0 = tree_cpu(a.pid)
    b0, _ = core_ticks(a.server_cpu)
    k0, _ = core_ticks(a.client_cpu)
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    with open(a.log, "w") as log:
        try:
            rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, timeout=a.seconds + 30).returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
    t1 = time.monotonic()
    s1, st1, u1 = tree_cpu(a.pid)
    b1, _ = core_ticks(a.server_cpu)
    k1, _ = core_ticks(a.client_cpu)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    wall = t1 - t0
    alive = os.path.exists(f"/proc/{a.pid}")

    r = {"server": a.server, "class": a.klass, "mode": "fixed" if a.rate else "sat",
         "rate": a.rate, "seconds": a.seconds, "cmd": " ".join(cmd), "rc": rc, "alive": alive,
         "wall_s": round(wall, 3)}
    lat = []
    timeouts = 0
    with open(a.log, errors="replace") as f:
        text_tail = []
        for line in f:
            if line.startswith("> "):
                parts = line.split()
                if parts[1] == "T":
                    timeouts += 1
                    continue
                try:
                    lat.append(float(parts[-1]))
                except ValueError:
                    pass
            else:
                text_tail.append(line)
    text = "".join(text_tail)

    def num(pattern, cast=float):
        m = re.search(pattern, text)
        return cast(m.group(1)) if m else None

    r["sent"] = num(r"Queries sent:\s+(\d+)", int)
    r["completed"] = num(r"Queries completed:\s+(\d+)", int)
    r["lost"] = num(r"Queries lost:\s+(\d+)", int)
    r["qps"] = num(r"Queries per second:\s+([\d.]+)")
    r["runtime_s"] = num(r"Run time \(s\):\s+([\d.]+)")
    r["avg_latency_us"] = (lambda v: v * 1e6 if v is not None else None)(num(r"Average Latency \(s\):\s+([\d.]+)"))
    r["max_latency_us"] = (lambda v: v * 1e6 if v is not None else None)(num(r"max ([\d.]+)\)"))
    r["response_size"] = num(r"response (\d+)", int)
    m = re.search(r"Response codes:\s+(.*)", text)
    r["rcodes"] = {k: int(v) for k, v in re.findall(r"([A-Z]+) (\d+) \(", m.group(1))} if m else {}
    r["server_cpu_s"] = round(s1 - s0, 6)
    r["server_cpu_stat_s"] = round(st1 - st0, 2)
    # dnsperf's own run time excludes its start-up and the final wait for lost
    # queries (-t 1), when the server is idle; the CPU delta covers both.
    busy = r["runtime_s"] or wall
    r["server_core"] = round((s1 - s0) / busy, 3) if busy > 0 else None
    r["other_core"] = round(max(0.0, (b1 - b0) / hz - (s1 - s0)) / wall, 3) if wall > 0 else None
    r["client_cpu_s"] = round(client_cpu, 3)
    r["client_core"] = round(client_cpu / wall, 3) if wall > 0 else None
    r["other_client_core"] = round(max(0.0, (k1 - k0) / hz - client_cpu) / wall, 3) if wall > 0 else None
    done = r["completed"] or 0
    r["us_per_query"] = round((s1 - s0) / done * 1e6, 3) if done else None
    r["us_per_query_stat"] = round((st1 - st0) / done * 1e6, 3) if done else None
    # The server's own work; the rest is the kernel's, mostly packet I/O.
    r["server_user_s"] = round(u1 - u0, 2)
    r["us_per_query_user"] = round((u1 - u0) / done * 1e6, 3) if done else None
    if a.rate:
        lat.sort()
        r["latency_samples"] = len(lat)
        r["timeouts"] = timeouts
        for name, q in (("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("p999", 0.999)):
            v = pct(lat, q)
            r[f"{name}_us"] = round(v * 1e6, 1) if v is not None else None
    if a.out:
        with open(a.out, "a") as f:
            f.write(json.dumps(r) + "\n")
    brief = (f"{a.server:6} {a.klass:8} {r['mode']:5} qps={r['qps'] or 0:9.0f} lost={r['lost']} "
             f"cpu={r['server_cpu_s']:.3f}s core={r['server_core']} us/q={r['us_per_query']} "
             f"other={r['other_core']}/{r['other_client_core']} dnsperf={r['client_core']}")
    if a.rate:
        brief += f" p50={r.get('p50_us')}us p99={r.get('p99_us')}us"
    print(brief, file=sys.stderr)
    if rc != 0 or not done:
        print(f"  dnsperf exit {rc}; see {a.log}", file=sys.stderr)


if __name__ == "__main__":
    main()
