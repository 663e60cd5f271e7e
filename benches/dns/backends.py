#!/usr/bin/env python3
"""Minimal HTTP health backends for the DNS benchmarks (stdlib only).

  backends.py --port 18080 --ready FILE ADDR [ADDR ...]
  backends.py --port 18080 --ready FILE --addr-file FILE [--shard I/N]

One asyncio process, one listening socket per address (never 0.0.0.0).
GET /healthz answers 200 "ok"; anything else 404. HTTP/1.1 keep-alive is
honoured, so pooled probe clients (hale's reqwest) reuse their connections
while HTTP/1.0 probers (gdnsd's http_status) get the connection closed.
Writes the number of requests served so far to --stats FILE every 0.5 s.
When every listener is bound, writes FILE given by --ready.
"""
import argparse
import asyncio
import os
import resource
import signal

OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n"
served = 0


async def handle(reader, writer):
    global served
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            parts = lines[0].split()
            if len(parts) < 3:
                break
            path, version = parts[1], parts[2]
            headers = {}
            for line in lines[1:]:
                k, _, v = line.partition(b":")
                headers[k.strip().lower()] = v.strip().lower()
            conn = headers.get(b"connection", b"")
            keep = (version == b"HTTP/1.1" and conn != b"close") or conn == b"keep-alive"
            status = OK if path.split(b"?")[0] == b"/healthz" else NOT_FOUND
            body = b"ok" if status is OK else b"not found"
            writer.write(status + (b"Connection: keep-alive\r\n" if keep else b"Connection: close\r\n") + b"\r\n" + body)
            await writer.drain()
            served += 1
            if not keep:
                break
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        pass
    finally:
        writer.close()


async def main():
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
            addrs += [l.strip() for l in f if l.strip()]
    i, n = (int(x) for x in a.shard.split("/"))
    addrs = addrs[i::n]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, 4 * len(addrs) + 1024))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    servers = []
    for addr in addrs:
        servers.append(await asyncio.start_server(handle, addr, a.port, backlog=64, reuse_address=True))
    with open(a.ready, "w") as f:
        f.write(f"{len(servers)}\n")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    def dump():
        if a.stats:
            with open(a.stats + ".tmp", "w") as f:
                f.write(f"{served}\n")
            os.replace(a.stats + ".tmp", a.stats)

    while not stop.is_set():
        dump()
        try:
            await asyncio.wait_for(stop.wait(), 0.5)
        except asyncio.TimeoutError:
            pass
    dump()


if __name__ == "__main__":
    asyncio.run(main())
