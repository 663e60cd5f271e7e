#!/usr/bin/env python3
"""Zone and query files for the DNS benchmarks (stdlib only).

  gen.py bench   DIR [--static N] [--queries N] [--seed S]
      DIR/zones/bench.test.zone     SOA, NS, s0..s{N-1} A 10.x.y.z, www with 3 A
                                    (hale, NSD and Knot: the same file)
      DIR/gdnsd-zone/bench.test     the same zone with `www DYNA multifo!www`
      DIR/queries/{checked,static,nxdomain,mixed}   dnsperf input, shuffled
  gen.py scale   DIR [--records N] [--serial S] [--change-every K]
      DIR/zones/scale.test.zone     SOA, NS and N A records on distinct names
                                    r0..r{N-1} A 10.x.y.z; with --change-every
                                    K, every K-th record and the last one have
                                    11.x.y.z instead (a changed version of the
                                    same zone, with --serial bumped, to reload)
  gen.py targets DIR [--names N] [--per-name M]
      DIR/zones/targets.test.zone   N names (t0..) x M A records on 127.1.x.y
      DIR/targets.txt               every distinct target address, one a line
      DIR/queries/static            names of the same zone that are not checked
"""
import argparse
import os
import random

CHECKED_ADDRS = ["127.0.0.21", "127.0.0.22", "127.0.0.23"]


def header(origin, ttl=300, serial=1):
    return (
        f"$ORIGIN {origin}\n"
        f"$TTL {ttl}\n"
        f"@ IN SOA ns1.{origin} hostmaster.{origin} {serial} 3600 900 1209600 60\n"
        f"@ IN NS ns1.{origin}\n"
        f"ns1 IN A 127.0.0.1\n"
    )


def static_addr(i, first=10):
    return f"{first}.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"


def write_lines(path, lines):
    with open(path, "w") as f:
        f.write("\n".join(lines))
        f.write("\n")


def bench(args):
    rnd = random.Random(args.seed)
    origin = "bench.test."
    zones = os.path.join(args.dir, "zones")
    gz = os.path.join(args.dir, "gdnsd-zone")
    qdir = os.path.join(args.dir, "queries")
    for d in (zones, gz, qdir):
        os.makedirs(d, exist_ok=True)
    body = "".join(f"s{i} IN A {static_addr(i)}\n" for i in range(args.static))
    www = "".join(f"www IN A {a}\n" for a in CHECKED_ADDRS)
    with open(os.path.join(zones, "bench.test.zone"), "w") as f:
        f.write(header(origin) + www + body)
    with open(os.path.join(gz, "bench.test"), "w") as f:
        f.write(header(origin) + "www IN DYNA multifo!www\n" + body)

    n = args.queries
    checked = lambda: "www.bench.test A"
    static = lambda: f"s{rnd.randrange(args.static)}.bench.test A"
    # Labels that cannot collide with s<digits>, www or ns1.
    nx = lambda: f"nx{rnd.getrandbits(40):010x}.bench.test A"
    write_lines(os.path.join(qdir, "checked"), [checked() for _ in range(n)])
    write_lines(os.path.join(qdir, "static"), [static() for _ in range(n)])
    write_lines(os.path.join(qdir, "nxdomain"), [nx() for _ in range(n)])
    mixed = (
        [checked() for _ in range(n * 5 // 10)]
        + [static() for _ in range(n * 4 // 10)]
        + [nx() for _ in range(n - n * 5 // 10 - n * 4 // 10)]
    )
    rnd.shuffle(mixed)
    write_lines(os.path.join(qdir, "mixed"), mixed)


def scale(args):
    zones = os.path.join(args.dir, "zones")
    os.makedirs(zones, exist_ok=True)
    origin = "scale.test."
    every, last = args.change_every, args.records - 1
    with open(os.path.join(zones, "scale.test.zone"), "w") as f:
        f.write(header(origin, serial=args.serial))
        chunk = []
        for i in range(args.records):
            changed = every > 0 and (i % every == every - 1 or i == last)
            chunk.append(f"r{i} IN A {static_addr(i, 11 if changed else 10)}\n")
            if len(chunk) == 10000:
                f.write("".join(chunk))
                chunk.clear()
        f.write("".join(chunk))


def targets(args):
    rnd = random.Random(args.seed)
    zones = os.path.join(args.dir, "zones")
    qdir = os.path.join(args.dir, "queries")
    os.makedirs(zones, exist_ok=True)
    os.makedirs(qdir, exist_ok=True)
    origin = "targets.test."
    addrs = []
    lines = [header(origin)]
    k = 0
    for n in range(args.names):
        for m in range(args.per_name):
            # 127.1.0.1 .. : skip .0 and .255 in the last octet.
            hi, lo = divmod(k, 254)
            a = f"127.{1 + hi // 256}.{hi % 256}.{lo + 1}"
            k += 1
            addrs.append(a)
            lines.append(f"t{n} IN A {a}\n")
    for i in range(args.static):
        lines.append(f"s{i} IN A {static_addr(i)}\n")
    with open(os.path.join(zones, "targets.test.zone"), "w") as f:
        f.write("".join(lines))
    write_lines(os.path.join(args.dir, "targets.txt"), addrs)
    write_lines(
        os.path.join(qdir, "static"),
        [f"s{rnd.randrange(args.static)}.targets.test A" for _ in range(args.queries)],
    )
    write_lines(
        os.path.join(args.dir, "checked-names.txt"),
        [f"t{n}.targets.test." for n in range(args.names)],
    )


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("bench")
    b.add_argument("dir")
    b.add_argument("--static", type=int, default=10000)
    b.add_argument("--queries", type=int, default=100000)
    b.add_argument("--seed", type=int, default=1)
    s = sub.add_parser("scale")
    s.add_argument("dir")
    s.add_argument("--records", type=int, default=1000000)
    s.add_argument("--serial", type=int, default=1)
    s.add_argument("--change-every", type=int, default=0)
    t = sub.add_parser("targets")
    t.add_argument("dir")
    t.add_argument("--names", type=int, default=100)
    t.add_argument("--per-name", type=int, default=100)
    t.add_argument("--static", type=int, default=10000)
    t.add_argument("--queries", type=int, default=100000)
    t.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    {"bench": bench, "scale": scale, "targets": targets}[args.cmd](args)


if __name__ == "__main__":
    main()
