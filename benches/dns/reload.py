#!/usr/bin/env python3
"""Time a server's reload and its memory while queries keep coming (stdlib only).

  reload.py --pid PID --port P --name r999999.scale.test --addr 11.15.66.63 \
            --records 1000000 [--rate 1000] [--timeout 120]
  reload.py ... --log hale.log [--done reloaded]     (no --addr)

With the changed zone file already in place: resets the process's peak RSS
(`echo 5 > /proc/PID/clear_refs`, so VmHWM starts again from VmRSS), sends
queries for random names r0..r{N-1} at --rate per second for half a second,
sends SIGHUP, and goes on until --name answers with --addr (the reload took)
or, without --addr (a reload of unchanged files), until the server's --log
has one more line with --done than before the SIGHUP, then half a second more. Meanwhile it reads VmRSS every 10 ms (of PID and
its descendants). Prints one
JSON object:

  reload_s         SIGHUP to the first answer with --addr (or to the log line)
  hwm_kib          VmHWM after the reload (the peak since the reset), or
                   sampled_kib if higher
  sampled_kib      the highest VmRSS sampled, summed over PID and any process
                   it forked (a cross-check of VmHWM, and a fork's share)
  before_kib       VmRSS just before the SIGHUP
  sent, answered, lost, wrong   queries sent from the SIGHUP until the reload
                   took, and what became of them: answered NOERROR with an A
                   record, no answer within 1 s, any other answer
  p50_ms, max_ms   their answers' latency
  gap_ms           the longest time between two answers in that window
  ok               the reload took within --timeout

Exits 1 when the reload did not take within --timeout.
"""
import argparse
import json
import os
import random
import select
import signal
import socket
import struct

from cpu import status_kib  # the same /proc reader as the CPU figures
import sys
import time

from dnswait import answers, query

LOST_AFTER = 1.0


def tree(pid):
    """PID and its live descendants (through /proc/P/task/T/children)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{t}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


def tree_rss_kib(pid):
    return sum(status_kib(p, "VmRSS") for p in tree(pid))


def rcode_and_id(buf):
    if len(buf) < 12:
        return None, None
    qid, flags = struct.unpack(">HH", buf[:4])
    return qid, flags & 0xF


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--addr")
    p.add_argument("--log")
    p.add_argument("--done", default="reloaded")
    p.add_argument("--records", type=int, required=True)
    p.add_argument("--rate", type=float, default=1000)
    p.add_argument("--timeout", type=float, default=120)
    a = p.parse_args()
    server = ("127.0.0.1", a.port)
    origin = a.name.split(".", 1)[1]

    with open(f"/proc/{a.pid}/clear_refs", "w") as f:
        f.write("5")

    load = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    load.setblocking(False)
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.setblocking(False)
    rnd = random.Random(1)
    pending = {}  # id -> (sent at, counted)
    next_id = 0
    counted = dict(sent=0, answered=0, lost=0, wrong=0)
    lat = []
    sampled = 0
    before = status_kib(a.pid, "VmRSS")
    start = time.monotonic()
    hup = start + 0.5
    hup_sent = None
    took = None
    last_answer = None
    gap = 0.0
    probe_id, probe_at = None, 0.0
    next_send, next_sample = start, start
    interval = 1.0 / a.rate

    def in_window(t):
        return hup_sent is not None and t >= hup_sent and (took is None or t <= took)

    def done_lines():
        try:
            with open(a.log, errors="replace") as f:
                return sum(1 for line in f if a.done in line)
        except OSError:
            return 0

    if not a.addr and not a.log:
        p.error("--addr or --log")
    done_before = done_lines() if not a.addr else 0

    while True:
        now = time.monotonic()
        if hup_sent is None and now >= hup:
            before = status_kib(a.pid, "VmRSS")
            os.kill(a.pid, signal.SIGHUP)
            hup_sent = time.monotonic()
            last_answer = hup_sent
        if took is not None and now > took + 0.5 and not pending:
            break
        if took is None and hup_sent is not None and now - hup_sent > a.timeout:
            break
        if took is not None and now > took + 0.5 + LOST_AFTER:
            break
        if now >= next_sample:
            sampled = max(sampled, tree_rss_kib(a.pid))
            next_sample = now + 0.01
        if took is None or now <= took + 0.5:
            while now >= next_send:
                next_id = (next_id + 1) & 0xFFFF
                name = f"r{rnd.randrange(a.records)}.{origin}"
                try:
                    load.sendto(query(name, next_id), server)
                except OSError:
                    pass
                pending[next_id] = (now, in_window(now))
                if in_window(now):
                    counted["sent"] += 1
                next_send += interval
        # The reload's own probe: every 5 ms, the changed name (or the log).
        if not a.addr and hup_sent is not None and took is None and now - probe_at >= 0.005:
            probe_at = now
            if done_lines() > done_before:
                took = now
        if a.addr and hup_sent is not None and took is None and now - probe_at >= 0.005:
            probe_id = rnd.randrange(65536)
            probe_at = now
            try:
                probe.sendto(query(a.name, probe_id), server)
            except OSError:
                pass
        for qid, (at, inside) in list(pending.items()):
            if now - at > LOST_AFTER:
                del pending[qid]
                if inside:
                    counted["lost"] += 1
        ready, _, _ = select.select([load, probe], [], [], 0.001)
        now = time.monotonic()
        if probe in ready:
            try:
                while True:
                    buf = probe.recv(4096)
                    got = answers(buf, probe_id)
                    if took is None and got is not None and a.addr in got:
                        took = now
            except (BlockingIOError, OSError):
                pass
        if load in ready:
            try:
                while True:
                    buf = load.recv(4096)
                    qid, rcode = rcode_and_id(buf)
                    if qid not in pending:
                        continue
                    at, inside = pending.pop(qid)
                    got = answers(buf, qid)
                    if inside:
                        if rcode == 0 and got:
                            counted["answered"] += 1
                            lat.append(now - at)
                            gap = max(gap, now - last_answer)
                            last_answer = now
                        else:
                            counted["wrong"] += 1
            except (BlockingIOError, OSError):
                pass
    if took is not None:
        gap = max(gap, took - last_answer)
    # A process the server forked meanwhile (to serve, or to load) counts too.
    hwm = max(status_kib(a.pid, "VmHWM"), sampled)
    lat.sort()
    out = dict(
        ok=took is not None,
        reload_s=round(took - hup_sent, 3) if took is not None else None,
        hwm_kib=hwm,
        sampled_kib=sampled,
        before_kib=before,
        **counted,
        p50_ms=round(lat[len(lat) // 2] * 1e3, 2) if lat else None,
        max_ms=round(lat[-1] * 1e3, 2) if lat else None,
        gap_ms=round(gap * 1e3, 1),
    )
    print(json.dumps(out))
    return 0 if took is not None else 1


if __name__ == "__main__":
    sys.exit(main())
