#!/usr/bin/env python3
"""Soak test for hale (issue #4 item 9), stdlib only; run through soak.sh.

Runs a release hale on loopback for DURATION seconds while
  - dnsperf sends queries at RATE per second (health-checked, static and
    nonexistent names),
  - HTTP backends on 127.0.60.x flip between healthy and 503 every few seconds,
  - SIGHUP reloads hale every RELOAD seconds (every other reload with a new zone serial),
  - a checker asks for the checked names ten times a second and compares each
    answer with the backends' state,
then stops hale with SIGTERM and prints: crashes, RSS at start and end, queries
sent/answered/lost (dnsperf's own count), answers inconsistent with health,
reloads done, probe state changes. Exit status 1 when hale died, a reload
failed, an answer was inconsistent or RSS grew by more than 20 %.

An answer for a checked name is consistent when it holds no address whose
backend has been failing for longer than the slack (fall x interval +
timeout + 1 s), and leaves out no address whose backend has been healthy for
longer than the slack, unless hale may see every address down (then it fails
open and answers them all).
"""
import argparse
import http.server
import json
import os
import random
import re
import signal
import socket
import socketserver
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

INTERVAL, TIMEOUT, RISE, FALL = 0.2, 0.3, 2, 2
SLACK = FALL * INTERVAL * 1.1 + TIMEOUT + 1.0
NAMES = {"www": ["127.0.60.1", "127.0.60.2", "127.0.60.3"], "api": ["127.0.60.4", "127.0.60.5"]}
STATIC = 1000


class Backend:
    """One HTTP backend; `healthy` flips; `since` is when it last flipped."""

    def __init__(self, ip, port):
        self.ip, self.healthy, self.since, self.lock = ip, True, time.monotonic(), threading.Lock()
        backend = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                ok = backend.healthy
                body = b"ok" if ok else b"failing"
                self.send_response(200 if ok else 503)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def handle_error(self, request, client_address):
                # hale closes a kept-alive connection without reading on when
                # a probe fails; the reset that causes is not news here.
                pass

        self.server = Server((ip, port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def set(self, healthy):
        with self.lock:
            if healthy != self.healthy:
                self.healthy, self.since = healthy, time.monotonic()

    def state(self):
        with self.lock:
            return self.healthy, self.since


def query(name, qid):
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack(">HH", 1, 1)


def a_records(resp):
    """The A addresses in a response's answer section (names are compressed pointers)."""
    an = struct.unpack(">H", resp[6:8])[0]
    i = 12
    while resp[i] != 0:
        i += 1 + resp[i]
    i += 5
    out = []
    for _ in range(an):
        while True:
            if resp[i] >= 0xC0:
                i += 2
                break
            if resp[i] == 0:
                i += 1
                break
            i += 1 + resp[i]
        rtype, _, _, rdlen = struct.unpack(">HHIH", resp[i:i + 10])
        i += 10
        if rtype == 1:
            out.append(socket.inet_ntoa(resp[i:i + rdlen]))
        i += rdlen
    return out


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def metric(admin, series):
    with urllib.request.urlopen(f"http://{admin}/metrics", timeout=5) as r:
        text = r.read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(series):
            total += float(line.rsplit(" ", 1)[1])
    return total


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--hale", required=True)
    p.add_argument("--duration", type=int, default=600)
    p.add_argument("--rate", type=int, default=20000)
    p.add_argument("--reload", type=float, default=3.0)
    p.add_argument("--out", default="")
    a = p.parse_args()

    work = tempfile.mkdtemp(prefix="hale-soak-")
    port, admin_port, http_port = 25353, 28053, 28080
    os.makedirs(f"{work}/zones")

    def write_zone(serial):
        lines = ["$ORIGIN soak.test.", "$TTL 300",
                 f"@ IN SOA ns1 hostmaster {serial} 3600 900 1209600 60", "@ IN NS ns1", "ns1 IN A 192.0.2.53"]
        for name, ips in NAMES.items():
            lines += [f"{name} IN A {ip}" for ip in ips]
        lines += [f"s{i} IN A 10.0.{i // 250}.{i % 250 + 1}" for i in range(STATIC)]
        with open(f"{work}/zones/soak.test.zone.tmp", "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(f"{work}/zones/soak.test.zone.tmp", f"{work}/zones/soak.test.zone")

    write_zone(1)
    names = ", ".join(f'"{n}.soak.test."' for n in NAMES)
    with open(f"{work}/hale.toml", "w") as f:
        f.write(f"""[server]
listen = ["127.0.0.1:{port}"]
zones = "zones"
[admin]
listen = "127.0.0.1:{admin_port}"
[defaults]
interval = "{int(INTERVAL * 1000)}ms"
timeout = "{int(TIMEOUT * 1000)}ms"
rise = {RISE}
fall = {FALL}
when_all_down = "all"
[[check]]
names = [{names}]
port = {http_port}
path = "/healthz"
""")
    with open(f"{work}/queries", "w") as f:
        for i in range(10000):
            r = i % 10
            if r < 5:
                f.write(("www" if r % 2 else "api") + ".soak.test A\n")
            elif r < 9:
                f.write(f"s{(i * 7) % STATIC}.soak.test A\n")
            else:
                f.write(f"nx{i}.soak.test A\n")

    backends = {ip: Backend(ip, http_port) for ips in NAMES.values() for ip in ips}
    log = open(f"{work}/hale.log", "w")
    hale = subprocess.Popen([a.hale, "serve", "--config", f"{work}/hale.toml"], stderr=log)
    admin = f"127.0.0.1:{admin_port}"
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(1.0)
    for _ in range(100):
        try:
            sock.sendto(query("www.soak.test", 1), ("127.0.0.1", port))
            sock.recv(4096)
            break
        except OSError:
            time.sleep(0.1)
    else:
        print("hale did not start; log:", open(f"{work}/hale.log").read(), file=sys.stderr)
        hale.kill()
        return 1
    time.sleep(2)
    rss_start = rss_kib(hale.pid)
    print(f"[soak] hale pid {hale.pid}, RSS at start {rss_start / 1024:.1f} MiB; "
          f"{a.duration} s at {a.rate} q/s, backends flapping, SIGHUP every {a.reload} s", flush=True)

    stop = threading.Event()
    stats = {"checks": 0, "inconsistent": 0, "unanswered": 0, "reloads": 0, "held": 0, "examples": []}

    def flap():
        rnd = random.Random(42)
        nxt = {ip: time.monotonic() + rnd.uniform(1, 6) for ip in backends}
        while not stop.is_set():
            now = time.monotonic()
            for ip, b in backends.items():
                if now >= nxt[ip]:
                    b.set(not b.state()[0])
                    nxt[ip] = now + rnd.uniform(1, 6)
            time.sleep(0.05)

    def check():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(2.0)
        qid = 0
        while not stop.is_set():
            # While the mass-failure guard holds answers (every backend down
            # at once happens now and then here), answers follow the health
            # from before the wave on purpose: counted, not judged.
            if metric(admin, "hale_mass_failure") > 0:
                stats["held"] += 1
                time.sleep(0.1)
                continue
            for name, ips in NAMES.items():
                qid = (qid + 1) & 0xFFFF
                s.sendto(query(f"{name}.soak.test", qid), ("127.0.0.1", port))
                try:
                    while True:
                        resp = s.recv(4096)
                        if struct.unpack(">H", resp[:2])[0] == qid:
                            break
                except socket.timeout:
                    stats["unanswered"] += 1
                    continue
                got = set(a_records(resp))
                now = time.monotonic()
                states = {ip: backends[ip].state() for ip in ips}
                surely_down = {ip for ip, (ok, since) in states.items() if not ok and now - since > SLACK}
                surely_up = {ip for ip, (ok, since) in states.items() if ok and now - since > SLACK}
                # A surely-down address may only appear when hale fails open,
                # which answers every address and needs none surely up.
                fail_open = got == set(ips) and not surely_up
                bad = (got & surely_down and not fail_open) or (surely_up - got)
                if bad and metric(admin, "hale_mass_failure") > 0:
                    stats["held"] += 1
                    continue
                stats["checks"] += 1
                if bad:
                    stats["inconsistent"] += 1
                    if len(stats["examples"]) < 5:
                        stats["examples"].append({"name": name, "answer": sorted(got),
                                                  "down": sorted(surely_down), "up": sorted(surely_up)})
            time.sleep(0.1)

    def reload():
        serial = 1
        while not stop.wait(a.reload):
            serial += 1
            if serial % 2 == 0:
                write_zone(serial)
            hale.send_signal(signal.SIGHUP)
            stats["reloads"] += 1

    threads = [threading.Thread(target=t, daemon=True) for t in (flap, check, reload)]
    for t in threads:
        t.start()
    perf = subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", f"{work}/queries",
                           "-l", str(a.duration), "-Q", str(a.rate), "-c", "4", "-T", "1", "-t", "2"],
                          capture_output=True, text=True)
    stop.set()
    for t in threads:
        t.join(timeout=5)
    alive = hale.poll() is None
    rss_end = rss_kib(hale.pid) if alive else 0
    reloads_ok = metric(admin, 'hale_reloads_total{result="ok"}') if alive else 0
    reloads_bad = metric(admin, 'hale_reloads_total{result="error"}') if alive else 0
    hale.send_signal(signal.SIGTERM)
    try:
        code = hale.wait(timeout=30)
    except subprocess.TimeoutExpired:
        hale.kill()
        code = "hung on SIGTERM"
    log.close()
    for b in backends.values():
        b.server.shutdown()

    sent = re.search(r"Queries sent:\s+(\d+)", perf.stdout)
    done = re.search(r"Queries completed:\s+(\d+)", perf.stdout)
    lost = re.search(r"Queries lost:\s+(\d+)", perf.stdout)
    qps = re.search(r"Queries per second:\s+([\d.]+)", perf.stdout)
    changes = sum(1 for line in open(f"{work}/hale.log") if "health changed" in line)
    panics = sum(1 for line in open(f"{work}/hale.log") if "panicked" in line)
    result = {
        "duration_s": a.duration, "rate": a.rate,
        "alive_at_end": alive, "exit_on_sigterm": code, "panics_logged": panics,
        "rss_start_mib": round(rss_start / 1024, 1), "rss_end_mib": round(rss_end / 1024, 1),
        "queries_sent": int(sent.group(1)) if sent else None,
        "queries_completed": int(done.group(1)) if done else None,
        "queries_lost": int(lost.group(1)) if lost else None,
        "qps": float(qps.group(1)) if qps else None,
        "consistency_checks": stats["checks"], "inconsistent": stats["inconsistent"],
        "checker_unanswered": stats["unanswered"], "checks_skipped_while_guard_held": stats["held"],
        "examples": stats["examples"],
        "sighups": stats["reloads"], "reloads_ok": reloads_ok, "reloads_failed": reloads_bad,
        "health_changes_logged": changes,
    }
    print(json.dumps(result, indent=1))
    if a.out:
        with open(a.out, "w") as f:
            json.dump(result, f)
    if perf.returncode != 0:
        print(perf.stdout[-2000:], perf.stderr[-2000:], file=sys.stderr)
    failed = (not alive or code != 0 or panics or stats["inconsistent"] or reloads_bad
              or rss_end > rss_start * 1.2 + 4096)
    print("[soak]", "FAILED" if failed else "passed", f"(files in {work})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
