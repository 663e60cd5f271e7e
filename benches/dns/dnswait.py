#!/usr/bin/env python3
"""Poll a DNS server until NAME A answers with ADDR (stdlib only).

  dnswait.py --port P --name r999999.scale.test --addr 10.15.66.63 \
             --since EPOCH --timeout 300 [--pid PID] [--every 0.005]

Sends one UDP query every --every seconds (each with a 50 ms deadline) and
prints the seconds elapsed since --since (a time.time() epoch, e.g. `date
+%s.%N` taken just before the server was started) when the answer holds ADDR.
Exits 1 on timeout or when --pid is gone.
"""
import argparse
import os
import random
import socket
import struct
import sys
import time


def query(name, qid):
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack(">HH", 1, 1)


def skip_name(buf, i):
    while True:
        n = buf[i]
        if n == 0:
            return i + 1
        if n & 0xC0 == 0xC0:
            return i + 2
        i += n + 1


def answers(buf, qid):
    if len(buf) < 12:
        return None
    rid, flags, qd, an, _, _ = struct.unpack(">HHHHHH", buf[:12])
    if rid != qid or flags & 0xF != 0:
        return None
    i = 12
    for _ in range(qd):
        i = skip_name(buf, i) + 4
    out = []
    for _ in range(an):
        i = skip_name(buf, i)
        typ, _, _, rdlen = struct.unpack(">HHIH", buf[i:i + 10])
        i += 10
        if typ == 1 and rdlen == 4:
            out.append(socket.inet_ntoa(buf[i:i + 4]))
        i += rdlen
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--addr", required=True)
    p.add_argument("--since", type=float, required=True)
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument("--pid", type=int)
    p.add_argument("--every", type=float, default=0.005)
    a = p.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.05)
    while True:
        qid = random.randrange(65536)
        try:
            s.sendto(query(a.name, qid), ("127.0.0.1", a.port))
            while True:
                buf = s.recv(4096)
                got = answers(buf, qid)
                if got is not None:
                    break
            if a.addr in got:
                print(f"{time.time() - a.since:.3f}")
                return 0
        except (socket.timeout, ConnectionRefusedError, OSError):
            pass
        if time.time() - a.since > a.timeout:
            return 1
        if a.pid and not os.path.exists(f"/proc/{a.pid}"):
            return 1
        time.sleep(a.every)


if __name__ == "__main__":
    sys.exit(main())
