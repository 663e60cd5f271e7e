#!/usr/bin/env python3
"""CPU time of a process tree, for the DNS benchmarks (stdlib only).

  cpu.py PID          print "<schedstat_seconds> <stat_seconds> <pids>" for PID
                      and all its live descendants:
                      schedstat = sum of /proc/P/task/*/schedstat run time (ns
                      resolution, live threads only); stat = utime+stime of
                      /proc/P/stat (all threads of P, clock-tick resolution)
  cpu.py --rss PID    print VmRSS in KiB summed over the tree
  cpu.py --pss PID    print Pss in KiB summed over the tree (shared pages of
                      forked processes, as NSD's, counted once)
  cpu.py --hwm PID    print the highest VmHWM (peak RSS since exec, or since
                      `echo 5 > clear_refs`) in KiB of any process of the tree
  cpu.py --tree PID   print PID and its descendants, one a line
  cpu.py --core N     print core N's busy seconds (user+nice+system of all
                      tasks, plus hypervisor steal)
"""
import os
import sys

TCK = os.sysconf("SC_CLK_TCK")


def ppid_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rindex(")") + 2:].split()
        kids.setdefault(int(rest[1]), []).append(int(d))
    return kids


def tree(pid):
    kids = ppid_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def times(p):
    """(utime, stime) of /proc/P/stat in seconds; zeros for a gone or zombie process."""
    try:
        with open(f"/proc/{p}/stat") as f:
            s = f.read()
    except OSError:
        return 0.0, 0.0
    rest = s[s.rindex(")") + 2:].split()
    if rest[0] == "Z":
        return 0.0, 0.0
    return int(rest[11]) / TCK, int(rest[12]) / TCK


def stat_seconds(p):
    return sum(times(p))


def sched_seconds(p):
    total = 0
    try:
        tids = os.listdir(f"/proc/{p}/task")
    except OSError:
        return 0.0
    for t in tids:
        try:
            with open(f"/proc/{p}/task/{t}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total / 1e9


def status_kib(p, key):
    try:
        with open(f"/proc/{p}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kib(p):
    return status_kib(p, "VmRSS")


def pss_kib(p):
    try:
        with open(f"/proc/{p}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main():
    args = sys.argv[1:]
    if args[0] == "--rss":
        print(sum(rss_kib(p) for p in tree(int(args[1]))))
    elif args[0] == "--hwm":
        print(max(status_kib(p, "VmHWM") for p in tree(int(args[1]))))
    elif args[0] == "--pss":
        print(sum(pss_kib(p) for p in tree(int(args[1]))))
    elif args[0] == "--core":
        with open("/proc/stat") as f:
            for line in f:
                if line.startswith(f"cpu{args[1]} "):
                    v = [int(x) for x in line.split()[1:]] + [0] * 8
                    print(f"{(v[0] + v[1] + v[2] + v[7]) / TCK:.2f}")
    elif args[0] == "--tree":
        print("\n".join(str(p) for p in tree(int(args[1]))))
    else:
        ps = tree(int(args[0]))
        print(f"{sum(sched_seconds(p) for p in ps):.6f} {sum(stat_seconds(p) for p in ps):.2f} {','.join(map(str, ps))}")


if __name__ == "__main__":
    main()
