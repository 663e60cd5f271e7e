#!/usr/bin/env python3
"""Markdown table from the JSON lines measure.py wrote (stdlib only).

  table.py RESULTS.jsonl META.json   prints the table to stdout

META.json: {"header": [lines...], "servers": {"hale": "hale 0.1.0 (abc)", ...},
            "stand_in": ["nsd", "knot"], "classes": [...], "rate": 20000,
            "skipped": {"server": "reason"}}
"""
import json
import sys

CLASS_LABEL = {"checked": "health-checked", "static": "static", "nxdomain": "NXDOMAIN", "mixed": "mixed"}
NOISE = 0.10  # a core fraction used by other processes that makes a row "noisy"
EXPECT = {"checked": {"NOERROR"}, "static": {"NOERROR"}, "nxdomain": {"NXDOMAIN"},
          "mixed": {"NOERROR", "NXDOMAIN"}}


def fmt_qps(v):
    if v is None:
        return "–"
    return f"{v / 1000:.1f}k" if v >= 1000 else f"{v:.0f}"


def fmt(v, digits=2):
    if v is None:
        return "–"
    if v >= 100:
        return f"{v:.0f}"
    return f"{v:.{digits}f}"


def median(values):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def median_row(runs):
    """One row for several rounds: numbers are medians, the worst of the
    rest (a death, an exit code, unexpected rcodes, losses) is kept."""
    row = dict(runs[0])
    # Counts add up over rounds and noise keeps its worst, below.
    summed = {"completed", "sent", "lost", "other_core", "other_client_core"}
    for key, v in runs[0].items():
        if isinstance(v, (int, float)) and not isinstance(v, bool) and key not in summed:
            row[key] = median(r.get(key) for r in runs)
    row["alive"] = all(r.get("alive", True) for r in runs)
    row["rc"] = next((r.get("rc") for r in runs if r.get("rc") not in (0, None)), 0)
    row["rcodes"] = {}
    for r in runs:
        for k, v in r.get("rcodes", {}).items():
            row["rcodes"][k] = row["rcodes"].get(k, 0) + v
    row["completed"] = sum(r.get("completed") or 0 for r in runs)
    row["sent"] = sum(r.get("sent") or 0 for r in runs)
    row["lost"] = sum(r.get("lost") or 0 for r in runs)
    row["other_core"] = max((r.get("other_core") or 0) for r in runs)
    row["other_client_core"] = max((r.get("other_client_core") or 0) for r in runs)
    row["rounds"] = runs
    return row


def main():
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    meta = json.load(open(sys.argv[2]))
    rate = meta.get("rate", 20000)
    rk = f"{rate // 1000}k" if rate % 1000 == 0 else str(rate)
    stand_in = set(meta.get("stand_in", []))
    labels = meta.get("servers", {})
    classes = meta.get("classes", ["checked", "static", "nxdomain", "mixed"])
    order = [s for s in meta.get("order", labels.keys())]
    # With several rounds, each figure is the median of its rounds: on a
    # shared VM one run can be off by 10 % either way, and the median of
    # alternating rounds is what a second run would most likely give again.
    groups = {}
    for r in rows:
        groups.setdefault((r["server"], r["class"], r["mode"]), []).append(r)
    res = {key: median_row(g) for key, g in groups.items()}

    out = []
    noisy_rows = 0
    out += meta.get("header", [])
    out.append("")
    out.append(f"| server | class | QPS at saturation | server core busy | CPU µs/query at saturation "
               f"| of which user space | CPU µs/query at {rk} QPS | p50 µs at {rk} | p99 µs at {rk} | notes |")
    out.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for klass in classes:
        for s in order:
            if s in meta.get("skipped", {}):
                continue
            sat = res.get((s, klass, "sat"))
            fix = res.get((s, klass, "fixed"))
            if not sat and not fix:
                continue
            notes = []
            if s in stand_in and klass in ("checked", "mixed"):
                notes.append("static stand-in for www")
            for r in (sat, fix):
                if not r:
                    continue
                tag = "sat" if r["mode"] == "sat" else rk
                if not r.get("alive", True):
                    notes.append(f"**server died** ({tag})")
                if r.get("rc") not in (0, None):
                    notes.append(f"dnsperf exit {r['rc']} ({tag})")
                bad = sum(v for k, v in r.get("rcodes", {}).items() if k not in EXPECT[klass])
                done = r.get("completed") or 0
                if done and bad:
                    notes.append(f"**{bad / done:.1%} unexpected rcodes** {r['rcodes']} ({tag})")
                sent = r.get("sent") or 0
                lost = r.get("lost") or 0
                if sent and lost / sent > (0.05 if r["mode"] == "sat" else 0.001):
                    notes.append(f"{lost / sent:.1%} lost ({tag})")

            runs = [r for r in (sat, fix) if r]
            o_srv = max((r.get("other_core") or 0) for r in runs)
            o_cli = max((r.get("other_client_core") or 0) for r in runs)
            if o_srv > NOISE or o_cli > NOISE:
                noisy_rows += 1
                notes.append(f"noisy: other processes used up to {o_srv:.2f} of the server's core, "
                             f"{o_cli:.2f} of dnsperf's")
            if sat and (sat.get("server_core") or 0) + (sat.get("other_core") or 0) < 0.85:
                notes.append("client-bound: the server's core was not saturated")
            if fix and fix.get("qps") and fix["qps"] < 0.95 * rate:
                notes.append(f"reached only {fix['qps']:.0f} QPS of {rate}")
            out.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
                labels.get(s, s) + ("\\*" if s in stand_in and klass in ("checked", "mixed") else ""),
                CLASS_LABEL.get(klass, klass),
                fmt_qps(sat and sat.get("qps")),
                f"{sat['server_core']:.0%}" if sat and sat.get("server_core") is not None else "–",
                fmt(sat and sat.get("us_per_query")),
                fmt(sat and sat.get("us_per_query_user")),
                fmt(fix and fix.get("us_per_query")),
                fmt(fix and fix.get("p50_us"), 0),
                fmt(fix and fix.get("p99_us"), 0),
                "; ".join(notes)))
    if noisy_rows:
        out.append("")
        out.append(f"{noisy_rows} row(s) marked noisy: while they ran, other processes took more than "
                   f"{NOISE:.0%} of a benchmark core, which lowers QPS and inflates latency (CPU per "
                   "query suffers least); rerun on a quiet machine for clean figures.")
    if stand_in:
        out.append("")
        out.append("\\* NSD and Knot have no health checks: their `www` is the same three A "
                   "records, served as static data (static stand-in).")
    for s, why in meta.get("skipped", {}).items():
        out.append(f"\n**{labels.get(s, s)} not measured:** {why}")

    if "hale" in order and "hale" not in meta.get("skipped", {}):
        peers = [s for s in order if s != "hale" and s not in meta.get("skipped", {})]
        out.append("")
        out.append("hale against the best peer in each column (QPS: hale ÷ best, higher is better, "
                   "target ≥ 0.95; CPU and latency: hale ÷ best, lower is better, target ≤ 1.00):")
        out.append("")
        out.append(f"| class | QPS at saturation | CPU µs/query at saturation | of which user space "
                   f"| CPU µs/query at {rk} | p50 at {rk} | p99 at {rk} |")
        out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        lat = lambda v: fmt(v, 0)
        cols = [("sat", "qps", max, fmt_qps), ("sat", "us_per_query", min, fmt),
                ("sat", "us_per_query_user", min, fmt), ("fixed", "us_per_query", min, fmt), ("fixed", "p50_us", min, lat),
                ("fixed", "p99_us", min, lat)]
        for klass in classes:
            cells = []
            for mode, key, best_of, f in cols:
                h = res.get(("hale", klass, mode), {}).get(key)
                cands = [(res[(p, klass, mode)][key], p) for p in peers
                         if res.get((p, klass, mode), {}).get(key) is not None]
                if h is None or not cands:
                    cells.append("–")
                    continue
                bv, bp = best_of(cands)
                ratio = h / bv if bv else float("inf")
                cell = f"{ratio:.2f} ({f(h)} vs {labels.get(bp, bp).split(' ')[0]} {f(bv)}"
                # Round by round against that peer: how far one run can stray.
                mine = res[("hale", klass, mode)]["rounds"]
                theirs = res[(bp, klass, mode)]["rounds"]
                each = [a.get(key) / b.get(key) for a, b in zip(mine, theirs)
                        if a.get(key) is not None and b.get(key)]
                if len(each) > 1 and max(each) - min(each) >= 0.005:
                    cell += f"; rounds {min(each):.2f}–{max(each):.2f}"
                cells.append(cell + ")")
            out.append(f"| {CLASS_LABEL.get(klass, klass)} | " + " | ".join(cells) + " |")
    print("\n".join(out))


if __name__ == "__main__":
    main()
