#!/usr/bin/env python3
"""Minimal HTTP health backends for the DNS benchmarks (stdlib only).

  backends.py --port 18080 --ready FILE [--stats FILE] ADDR [ADDR ...]
  backends.py --port 18080 --ready FILE [--stats FILE] --addr-file FILE [--shard I/N]

One process, one listening socket per address (never 0.0.0.0), one epoll
loop. GET /healthz answers 200 "ok", anything else 404. Connections are kept
alive like a real web server's unless the request says `Connection: close`
(gdnsd's http_status probes with a fresh connection each time; hale reuses
one for up to 8 probes). Listeners use TCP_DEFER_ACCEPT, so accept() returns
with the request already readable, which lets a single core answer 10,000
probes a second.

Writes FILE given by --ready once every listener is bound, and the number of
requests answered so far to --stats FILE every 0.5 s. Stops on SIGTERM/SIGINT.
"""
import argparse
import errno
import os
import resource
import select
import signal
import socket
import time

BODY = {True: b"ok", False: b"not found"}
HEAD = {True: b"HTTP/1.1 200 OK\r\n", False: b"HTTP/1.1 404 Not Found\r\n"}


def response(ok, close):
    body = BODY[ok]
    return (HEAD[ok] + b"Content-Type: text/plain\r\nContent-Length: " + str(len(body)).encode()
            + (b"\r\nConnection: close" if close else b"") + b"\r\n\r\n" + body)


RESP = {(ok, close): response(ok, close) for ok in (True, False) for close in (True, False)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=18080)
    p.add_argument("--ready", required=True)
    p.add_argument("--stats")
    p.add_argument("--addr-file")
    p.add_argument("--shard", default="0/1", help="I/N: serve every N-th address from the I-th")
    p.add_argument("addrs", nargs="*")
    a = p.parse_args()
    addrs = list(a.addrs)
    if a.addr_file:
        with open(a.addr_file) as f:
            addrs += [line.strip() for line in f if line.strip()]
    i, n = (int(x) for x in a.shard.split("/"))
    addrs = addrs[i::n]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = len(addrs) + 1024
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, want), hard))

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))

    ep = select.epoll()
    listeners = {}
    for addr in addrs:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 1)
        s.bind((addr, a.port))
        s.listen(256)
        s.setblocking(False)
        listeners[s.fileno()] = s
        ep.register(s.fileno(), select.EPOLLIN)
    with open(a.ready, "w") as f:
        f.write(f"{len(listeners)}\n")

    conns = {}  # fd -> [socket, bytes so far], for requests not complete at accept
    served = 0
    last_dump = 0.0

    def answer(c, buf=b""):
        """Read (more of) the request; answer it once complete, then close the
        connection or keep it for the next request. Returns the bytes so far
        (empty after a kept-alive answer), or None once closed."""
        try:
            data = c.recv(8192)
        except BlockingIOError:
            return buf
        except OSError:
            data = b""
        buf += data
        if data and b"\r\n\r\n" not in buf and len(buf) < 65536:
            return buf
        if buf:
            line = buf.split(b"\r\n", 1)[0].split()
            ok = len(line) >= 2 and line[1].split(b"?")[0] == b"/healthz"
            close = b"connection: close" in buf.lower() or not data
            try:
                c.send(RESP[(ok, close)])
            except OSError:
                close = True
            nonlocal served
            served += 1
            if not close:
                return b""
        c.close()  # (a closed socket leaves the epoll set by itself)
        return None

    while not stop:
        try:
            events = ep.poll(0.5)
        except InterruptedError:
            continue
        for fd, ev in events:
            s = listeners.get(fd)
            if s is not None:
                while True:
                    try:
                        c, _ = s.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError as e:
                        if e.errno in (errno.EMFILE, errno.ENFILE, errno.ECONNABORTED):
                            break
                        raise
                    c.setblocking(False)
                    buf = answer(c)
                    if buf is not None:
                        conns[c.fileno()] = [c, buf]
                        ep.register(c.fileno(), select.EPOLLIN | select.EPOLLRDHUP)
            else:
                entry = conns.get(fd)
                if entry is None:
                    continue
                buf = answer(entry[0], entry[1])
                if buf is None:
                    del conns[fd]
                else:
                    entry[1] = buf
        now = time.monotonic()
        if a.stats and now - last_dump >= 0.5:
            last_dump = now
            with open(a.stats + ".tmp", "w") as f:
                f.write(f"{served}\n")
            os.replace(a.stats + ".tmp", a.stats)
    if a.stats:
        with open(a.stats + ".tmp", "w") as f:
            f.write(f"{served}\n")
        os.replace(a.stats + ".tmp", a.stats)


if __name__ == "__main__":
    main()
