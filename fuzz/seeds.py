#!/usr/bin/env python3
"""Writes the seed corpora: fuzz/corpus/query/seed-* and fuzz/corpus/load/seed-*.

Run once from anywhere (`python3 fuzz/seeds.py`); the files it writes are
committed, so this only needs running again when a seed is added or changed.
It removes the seed-* files it no longer writes, and leaves every other
file (libFuzzer's own, named by their SHA-1) alone.

query: hand-built packets for the wire-robustness rules of issue #4 item 1
(header, question, OPT, opcodes, classes, zone transfers), names of every
kind in the fuzz target's zone, and the inputs behind hickory-proto's past
advisories and fuzzing finds (self-referencing compression pointers,
RUSTSEC-2018-0007 / CVE-2018-20994; long chains of compression pointers,
hickory-dns#3738; SVCB with an RDLENGTH shorter than its target name,
hickory-dns#1464/#1465; null targets "." in SRV/SVCB/HTTPS; mixed-case and
dotted labels).

load: the repository's config/hale.toml and zones/example.com.zone joined
by a line "%%", and variants ($INCLUDE, $TTL, parentheses, wildcards, bad
TTLs and the zone and config errors of issue #4 item 8), every file of the
NSD corpus (tests/zones/nsd-corpus, issue #13) that fits, and the inputs in
artifacts-found/ that failed once.
"""

import base64
import hashlib
import hmac
import pathlib
import struct

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent

# ---------------------------------------------------------------- query

A, NS, CNAME, SOA, MX, TXT, AAAA, SRV = 1, 2, 5, 6, 15, 16, 28, 33
OPT, DS, SVCB, HTTPS = 41, 43, 64, 65
IXFR, AXFR, MAILB, MAILA, ANY = 251, 252, 253, 254, 255
IN, CH, NONE, CLASS_ANY = 1, 3, 254, 255


def name(text):
    """Wire form of a dotted name (no escapes; "." is the root)."""
    out = b""
    for label in text.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def header(qid=0x1234, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack(">HHHHHH", qid, flags, qd, an, ns, ar)


def question(qname="www.example.com.", qtype=A, qclass=IN):
    raw = qname if isinstance(qname, bytes) else name(qname)
    return raw + struct.pack(">HH", qtype, qclass)


def opt(size=1232, ext_rcode=0, version=0, do=False, zflags=0, options=b"", owner=b"\0"):
    ttl = (ext_rcode << 24) | (version << 16) | (0x8000 if do else 0) | zflags
    return owner + struct.pack(">HHIH", OPT, size, ttl, len(options)) + options


def option(code, data):
    return struct.pack(">HH", code, len(data)) + data


def rr(owner, rtype, rdata, rclass=IN, ttl=0, rdlength=None):
    length = len(rdata) if rdlength is None else rdlength
    return owner + struct.pack(">HHIH", rtype, rclass, ttl, length) + rdata


def q(qname="www.example.com.", qtype=A, qclass=IN, edns=True, flags=0x0100, qid=0x1234, **kw):
    """One well-formed query, with an OPT unless edns is False."""
    extra = opt(**kw) if edns else b""
    return header(qid, flags, ar=1 if edns else 0) + question(qname, qtype, qclass) + extra


# The fuzz target's TSIG key (fuzz_targets/query.rs CONFIG).
TSIG_KEY = name("xfr.example.com.")
TSIG_SECRET = base64.b64decode("8W2xNuIYP9T5bRMBxLa0Jg9vUdNpL7k1Zr9bPbCTvXw=")


def signed(msg, mac=None, key=TSIG_KEY, when=1700000000):
    """`msg` with a TSIG record (hmac-sha256, fudge 300) appended: its MAC
    `mac`, or the right one for `key`'s secret at `when` (long past, so
    hale answers BADTIME, signed)."""
    alg = name("hmac-sha256.")
    timers = when.to_bytes(6, "big") + struct.pack(">H", 300)
    if mac is None:
        tbs = msg + key + struct.pack(">HI", 255, 0) + alg + timers + struct.pack(">HH", 0, 0)
        mac = hmac.new(TSIG_SECRET, tbs, hashlib.sha256).digest()
    rdata = alg + timers + struct.pack(">H", len(mac)) + mac + msg[:2] + struct.pack(">HH", 0, 0)
    out = bytearray(msg + key + struct.pack(">HHIH", 250, 255, 0, len(rdata)) + rdata)
    out[10:12] = struct.pack(">H", struct.unpack(">H", bytes(out[10:12]))[0] + 1)
    return bytes(out)


def query_seeds():
    s = {}
    # Well-formed queries for every kind of name in the fuzz target's zone.
    names = {
        "apex": "example.com.",
        "www": "www.example.com.",
        "www-mixed-case": "WwW.ExAmPlE.CoM.",
        "alias-chain": "alias.example.com.",
        "cname-loop": "loop1.example.com.",
        "cname-outside": "outside.example.com.",
        "cname-dangling": "dangling.example.com.",
        "wildcard": "x.wild.example.com.",
        "wildcard-deep-mixed-case": "Deep.X.WILD.example.com.",
        "wildcard-cname": "a.cw.example.com.",
        "wildcard-exists": "real.wild.example.com.",
        "empty-non-terminal": "b.ent.example.com.",
        "nxdomain": "nothere.example.com.",
        "referral": "host.sub.example.com.",
        "glue": "ns.sub.example.com.",
        "child-zone": "www.child.example.com.",
        "checked-servfail": "sf.example.com.",
        "checked-none": "nd.example.com.",
        "not-ours": "www.example.org.",
        "root": ".",
    }
    for tag, qname in names.items():
        s[f"a-{tag}"] = q(qname, A)
    s["a-www-no-opt"] = q("www.example.com.", A, edns=False)
    s["aaaa-www"] = q("www.example.com.", AAAA)
    s["aaaa-checked-none-no-opt"] = q("nd.example.com.", AAAA, edns=False)
    s["any-apex"] = q("example.com.", ANY)
    s["any-www-no-opt"] = q("www.example.com.", ANY, edns=False)
    s["txt-apex"] = q("example.com.", TXT)
    s["txt-big-no-opt"] = q("big.example.com.", TXT, edns=False)
    s["txt-big-1232"] = q("big.example.com.", TXT)
    s["txt-big-4096-do"] = q("big.example.com.", TXT, size=4096, do=True)
    s["txt-huge-65535"] = q("huge.example.com.", TXT, size=65535)
    s["txt-big-size-0"] = q("big.example.com.", TXT, size=0)
    s["mx-apex"] = q("example.com.", MX)
    s["mx-wildcard"] = q("x.wild.example.com.", MX)
    s["ns-apex"] = q("example.com.", NS)
    s["soa-apex"] = q("example.com.", SOA)
    s["srv"] = q("_http._tcp.example.com.", SRV)
    s["srv-null-target"] = q("_null._tcp.example.com.", SRV)
    s["ds-delegation"] = q("sub.example.com.", DS)
    s["ds-child-apex"] = q("child.example.com.", DS)
    s["ds-root"] = q(".", DS)
    s["cname-alias"] = q("alias.example.com.", CNAME)
    s["svcb-www"] = q("www.example.com.", SVCB)
    s["https-apex"] = q("example.com.", HTTPS)
    s["unknown-qtype-999"] = q("www.example.com.", 999)
    s["qtype-opt"] = q("www.example.com.", OPT)
    s["qtype-maila"] = q("www.example.com.", MAILA)
    s["qtype-mailb"] = q("www.example.com.", MAILB)
    s["axfr"] = q("example.com.", AXFR, edns=False)
    s["ixfr"] = q("example.com.", IXFR, edns=False)
    s["qclass-ch"] = q("www.example.com.", A, CH)
    s["qclass-none"] = q("www.example.com.", A, NONE)
    s["qclass-any"] = q("www.example.com.", A, CLASS_ANY)
    s["qclass-any-soa"] = q("example.com.", SOA, CLASS_ANY)

    # Header and EDNS rules.
    s["flags-all-unknown-set"] = q(flags=0x0100 | 0x0040 | 0x0020 | 0x0010 | 0x0400 | 0x0200 | 0x0080)
    s["edns-version-1"] = q(version=1)
    s["edns-version-255-ext-rcode"] = q(version=255, ext_rcode=1)
    s["edns-unknown-flags"] = q(zflags=0x7FFF, do=True)
    # Issue #17 item 4: what must get FORMERR.
    s["edns-cookie-of-9"] = q(options=option(10, b"\x07" * 9))
    s["edns-cookie-with-server-cookie"] = q(options=option(10, b"\x07" * 24))
    s["edns-option-past-the-data"] = q(options=b"\xfd\xe9\x00\x09\x01\x02")
    s["edns-ecs-family-3"] = q(options=option(8, b"\x00\x03\x18\x00\xc0\x00\x02"))
    s["edns-ecs-v4-24"] = q(options=option(8, b"\x00\x01\x18\x00\xc0\x00\x02"))
    tsig = b"\x0bhmac-sha256\x00" + bytes([0, 0, 0x65, 0x5F, 0, 0, 1, 44, 0, 32]) + b"\x09" * 32
    tsig += bytes([0x12, 0x34, 0, 0, 0, 0])
    s["tsig-well-formed"] = header(ar=1) + question("www.example.com.", A, IN) + rr(b"\0", 250, tsig, 255)
    s["tsig-cut-short"] = header(ar=1) + question("www.example.com.", A, IN) + rr(b"\0", 250, tsig[:-3], 255)
    s["tsig-before-opt"] = (
        header(ar=2) + question("www.example.com.", A, IN) + rr(b"\0", 250, tsig, 255) + opt()
    )
    # TSIG with the fuzz target's key: a wrong MAC (BADSIG), a right one
    # signed long ago (BADTIME, whose answer is signed), an unknown key.
    s["tsig-badsig"] = signed(q(edns=False), b"\x09" * 32)
    s["tsig-badtime"] = signed(q(edns=False))
    s["tsig-badtime-edns-cookie"] = signed(q(options=option(10, b"\x01" * 8)))
    s["tsig-axfr-badtime"] = signed(q("example.com.", AXFR, edns=False))
    s["tsig-badkey"] = signed(q(edns=False), key=name("other.example.com."))
    s["tsig-short-mac"] = signed(q(edns=False), b"\x09" * 4)
    # Cookies: client alone, a server cookie hale did not make.
    s["edns-cookie-client"] = q(options=option(10, b"\x01\x02\x03\x04\x05\x06\x07\x08"))
    s["edns-cookie-rfc9018"] = q(
        options=option(10, b"\x01" * 8 + b"\x01\x00\x00\x00" + struct.pack(">I", 1700000000) + b"\x07" * 8)
    )
    s["edns-cookie-and-unknown-option"] = q(
        options=option(10, b"\x01\x02\x03\x04\x05\x06\x07\x08") + option(65001, b"x" * 5)
    )
    # What the fuzzer found once (artifacts-found/query-*), replayed on every run.
    for found in sorted((HERE / "artifacts-found").glob("query-*")):
        s["found-" + found.name[len("query-"):]] = found.read_bytes()
    s["edns-option-overrun"] = q(options=struct.pack(">HH", 10, 200) + b"\0" * 4)
    s["two-opts"] = header(ar=2) + question() + opt() + opt()
    s["opt-non-root-owner"] = header(ar=1) + question() + opt(owner=name("example.com."))
    s["opt-owner-pointer"] = header(ar=1) + question() + opt(owner=b"\xc0\x0c")
    s["opt-then-garbage"] = q() + b"\xff\xff\xff"
    s["trailing-garbage-no-opt"] = q(edns=False) + b"\0\0\0\0"
    s["qdcount-0"] = header(qd=0, ar=1) + opt()
    s["qdcount-0-no-body"] = header(qd=0)
    s["qdcount-2"] = header(qd=2) + question() + question("example.com.", SOA)
    s["ancount-1"] = header(an=1) + question() + rr(b"\xc0\x0c", A, bytes([192, 0, 2, 1]))
    s["nscount-1"] = header(ns=1) + question() + rr(b"\xc0\x0c", A, bytes([192, 0, 2, 1]))
    s["truncated-question"] = q(edns=False)[:-3]
    s["truncated-in-name"] = header() + name("www.example.com.")[:7]
    s["arcount-larger-than-present"] = header(ar=2) + question() + opt()
    s["arcount-without-records"] = header(ar=1) + question()
    s["runt-11-bytes"] = q()[:11]
    s["header-only"] = header()
    s["qr-set"] = q(flags=0x8100)
    s["qr-set-runt"] = header(flags=0x8000)[:12]
    for opcode, tag in [(1, "iquery"), (2, "status"), (3, "unassigned-3"), (4, "notify"),
                        (5, "update"), (6, "dso"), (15, "15")]:
        s[f"opcode-{tag}"] = q(flags=(opcode << 11) | 0x0100)
    s["opcode-notify-aa"] = q("example.com.", SOA, flags=(4 << 11) | 0x0400, edns=False)
    s["opcode-update-with-sections"] = (
        header(flags=5 << 11, qd=1, an=0, ns=1) + question("example.com.", SOA)
        + rr(name("new.example.com."), A, bytes([192, 0, 2, 9]))
    )

    # Names.
    s["label-63"] = q(bytes([63]) + b"a" * 63 + name("example.com."))
    s["label-64"] = q(bytes([64]) + b"a" * 64 + name("example.com."))
    s["label-type-01-extended"] = q(b"\x40" + name("example.com."))
    s["label-type-10-reserved"] = q(b"\x80\x01" + name("example.com."))
    labels = (bytes([63]) + b"b" * 63) * 3 + bytes([61]) + b"c" * 61
    s["name-255"] = q(labels + b"\0")  # 3*64 + 62 + 1 = 255 bytes
    s["name-256"] = q((bytes([63]) + b"b" * 63) * 3 + bytes([62]) + b"c" * 62 + b"\0")
    s["name-127-labels"] = q(b"\x01a" * 127 + b"\0")
    s["name-128-labels"] = q(b"\x01a" * 128 + b"\0")
    s["label-with-dot-and-backslash"] = q(b"\x03a.b\x03c\\d" + name("example.com."))
    s["label-with-nul-and-high-bytes"] = q(b"\x04\x00\xff\x80A" + name("www.example.com."))
    s["label-with-space-and-quote"] = q(b'\x04a "b' + name("example.com."))
    s["wildcard-label-literal"] = q(b"\x01*" + name("wild.example.com."))

    # Compression pointers in the question: legal in form, but only
    # backwards into earlier names, which a question does not have.
    s["pointer-to-itself"] = header() + b"\xc0\x0c" + struct.pack(">HH", A, IN)  # RUSTSEC-2018-0007 "C00C"
    s["pointer-to-itself-opt"] = header(ar=1) + b"\xc0\x0c" + struct.pack(">HH", A, IN) + opt()
    s["label-then-pointer-to-itself"] = header() + b"\x03www\xc0\x0c" + struct.pack(">HH", A, IN)
    s["pointer-loop-two-labels"] = header() + b"\x01a\xc0\x10\x01b\xc0\x0c" + struct.pack(">HH", A, IN)
    s["pointer-past-end"] = header() + b"\xc0\xff" + struct.pack(">HH", A, IN)
    s["pointer-max-offset"] = header() + b"\xff\xff" + struct.pack(">HH", A, IN)
    s["pointer-into-header"] = header() + b"\xc0\x02" + struct.pack(">HH", A, IN)
    s["pointer-forward"] = header() + b"\xc0\x12" + struct.pack(">HH", A, IN) + name("www.example.com.")
    s["pointer-cut"] = header() + b"\x03www\xc0"

    # Compression in the additional section, which hale reads for the OPT:
    # a chain where each owner points at the previous one (hickory-dns#3738's
    # "pointer bomb"), built to fill a 4 KiB input (libFuzzer's -max_len).
    msg = bytearray(header(ar=0) + question())
    prev = 12
    count = 0
    while len(msg) + 12 <= 4096 - 11:
        here = len(msg)
        msg += struct.pack(">H", 0xC000 | prev) + struct.pack(">HHIH", A, IN, 0, 0)
        prev = here
        count += 1
    msg += opt()
    struct.pack_into(">H", msg, 10, count + 1)
    s["additional-pointer-chain"] = bytes(msg)
    # The same chain without the question's name at the end of it: a loop.
    looped = bytearray(msg)
    struct.pack_into(">H", looped, 12 + len(question()), 0xC000 | (len(msg) - 11 - 12))
    s["additional-pointer-chain-loop"] = bytes(looped)
    s["additional-owner-pointer-to-itself"] = (
        header(ar=2) + question() + b"\xc0\x21" + struct.pack(">HHIH", A, IN, 0, 0) + opt()
    )
    s["additional-mixed-case-pointer"] = (
        header(ar=2) + question("WWW.Example.COM.")
        + rr(b"\x03NS1\xc0\x10", A, bytes([192, 0, 2, 53])) + opt()
    )
    # SVCB/HTTPS in the additional section: AliasMode with the null target
    # ".", and an RDLENGTH shorter than the priority and target name that
    # follow it (hickory-dns#1464: "Fix panic on bad length for SVCB record").
    s["additional-https-null-target"] = (
        header(ar=2) + question("example.com.", HTTPS) + rr(b"\xc0\x0c", HTTPS, b"\x00\x00\x00") + opt()
    )
    svcb = b"\x00\x01" + name("svc.example.net.") + struct.pack(">HH", 3, 2) + b"\x01\xbb"
    s["additional-svcb-short-rdlength"] = (
        header(ar=2) + question("example.com.", SVCB) + rr(b"\xc0\x0c", SVCB, svcb, rdlength=2) + opt()
    )
    s["additional-svcb-port-overlong"] = (
        header(ar=2) + question("example.com.", SVCB)
        + rr(b"\xc0\x0c", SVCB, b"\x00\x01\x00" + struct.pack(">HH", 3, 6) + b"\x01\xbb\xff\xff\xff\xff")
        + opt()
    )
    s["additional-srv-null-target"] = (
        header(ar=2) + question("_null._tcp.example.com.", SRV)
        + rr(b"\xc0\x0c", SRV, struct.pack(">HHH", 0, 0, 0) + b"\x00") + opt()
    )
    s["additional-tsig-like"] = (
        header(ar=2) + question() + opt()
        + rr(name("key."), 250, name("hmac-sha256.") + b"\0" * 16, rclass=CLASS_ANY)
    )
    s["additional-rdlength-overrun"] = header(ar=1) + question() + rr(b"\0", A, b"", rdlength=0xFFFF)
    return s


# ---------------------------------------------------------------- load

SEP = b"\n%%\n"
CONFIG = b'[server]\nzones = "zones"\n'
HEAD = (
    b"$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 900 1209600 60\n"
    b"@ NS ns1\nns1 A 192.0.2.1\n"
)


def load_seeds():
    s = {}
    repo_config = (REPO / "config" / "hale.toml").read_bytes()
    # The fuzz target's folder holds hale.toml beside zones/.
    repo_config = repo_config.replace(b'"../zones"', b'"zones"')
    repo_zone = (REPO / "zones" / "example.com.zone").read_bytes()
    s["repo-config-and-zone"] = repo_config + SEP + repo_zone
    s["minimal"] = CONFIG + SEP + HEAD
    s["zones-as-file"] = b'[server]\nzones = "zones/example.com.zone"\n' + SEP + HEAD
    s["zones-as-list"] = b'[server]\nzones = ["zones/example.com.zone"]\n' + SEP + HEAD
    s["every-config-key"] = (
        b'[server]\nlisten = ["127.0.0.1:5353", "[::1]:5353"]\nzones = "zones"\nworkers = 2\n'
        b'tcp_max_connections = 256\ntcp_idle_timeout = "10s"\ntcp_message_timeout = "5s"\n'
        b"[rrl]\nresponses_per_second = 100\nslip = 2\nipv4_prefix = 24\nipv6_prefix = 56\n"
        b'[mass_failure]\nenabled = true\nshare = 1.0\nmin_names = 2\nwindow = "60s"\n'
        b'canary = "http://192.0.2.10/ok"\n'
        b'[transfer]\nallow = ["127.0.0.1", "10.0.0.0/8", "::1"]\n'
        b'[admin]\nlisten = "127.0.0.1:8053"\n'
        b'[defaults]\ninterval = "5s"\ntimeout = "2s"\nrise = 2\nfall = 3\nttl = 30\n'
        b'when_all_down = "all"\nflap_damping = true\nflap_half_life = "60s"\n'
        b'[[check]]\nnames = ["www.example.com."]\nport = 8080\npath = "/healthz"\n'
        b'scheme = "http"\nhost = "www.example.com"\nexpect_status = [200, 204]\n'
        b'expect_body = "ok"\ntls_verify = true\n'
        b'[[check]]\nnames = ["api.example.com.", "v6.example.com."]\nscheme = "https"\n'
        b'when_all_down = "servfail"\n'
        + SEP + HEAD
        + b"www A 192.0.2.10\nwww A 192.0.2.11\nwww AAAA 2001:db8::10\n"
        b"api A 192.0.2.20\nv6 AAAA 2001:db8::20\n"
    )
    s["check-without-addresses"] = (
        CONFIG + b'[[check]]\nnames = ["nothere.example.com."]\n' + SEP + HEAD
    )
    s["check-name-twice"] = (
        CONFIG + b'[[check]]\nnames = ["ns1.example.com."]\n[[check]]\nnames = ["ns1.example.com."]\n'
        + SEP + HEAD
    )
    s["bad-duration"] = CONFIG + b'[defaults]\ninterval = "5 parsecs"\n' + SEP + HEAD
    s["unknown-key"] = CONFIG + b"bogus = 1\n" + SEP + HEAD
    s["no-server-section"] = b'[defaults]\nttl = 30\n' + SEP + HEAD
    s["config-not-toml"] = b"[server\nzones = \n" + SEP + HEAD
    s["config-only"] = CONFIG

    # Zone file syntax.
    s["parentheses-and-comments"] = CONFIG + SEP + (
        b"$ORIGIN example.com.\n$TTL 1h\n@ IN SOA ns1.example.com. hostmaster.example.com. (\n"
        b"  2026112201 ; serial\n  3600 ; refresh\n  900\n  1209600\n  60 )\n"
        b"  IN NS ns1\n  IN MX 10 mail\nns1 IN A 192.0.2.1\nmail 60 IN A 192.0.2.2\n"
        b'txt IN TXT ( "one" "two" ) ; split\n'
    )
    s["wildcards-and-cnames"] = CONFIG + SEP + HEAD + (
        b"*.apps A 192.0.2.20\n*.cw CNAME www\nwww A 192.0.2.3\nalias CNAME www\n"
        b"loop1 CNAME loop2\nloop2 CNAME loop1\n*.example.com. TXT \"top wildcard\"\n"
    )
    s["delegation-ds-srv-mx"] = CONFIG + SEP + HEAD + (
        b"sub NS ns.sub\nns.sub A 192.0.2.7\n"
        b"sub DS 12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE1AB7C8A4A0C1E9A4A8A2B9C1\n"
        b"_http._tcp SRV 10 5 80 www\n_null._tcp SRV 0 0 0 .\n@ MX 0 .\nwww A 192.0.2.3\n"
        b"@ HTTPS 0 www\n_svc SVCB 1 . alpn=h2 port=443\n@ CAA 0 issue \"ca.example\"\n"
        b"ptr PTR www\n@ TXT \"a\\\"b\\065\\255\"\n"
    )
    s["origin-and-relative-names"] = CONFIG + SEP + (
        b"$TTL 300\n@ SOA ns1 hostmaster 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n"
        b"$ORIGIN sub.example.com.\nhost A 192.0.2.2\n$ORIGIN example.com.\nback A 192.0.2.3\n"
    )
    s["no-ttl-directive"] = CONFIG + SEP + (
        b"@ 300 SOA ns1 hostmaster 1 2 3 4 5\n@ 300 NS ns1\nns1 A 192.0.2.1\n"
    )
    s["ttl-units"] = CONFIG + SEP + HEAD.replace(b"$TTL 300", b"$TTL 1w2d3h4m5s")
    s["ttl-2-31"] = CONFIG + SEP + HEAD + b"big 2147483648 A 192.0.2.9\n"
    s["ttl-2-32-minus-1"] = CONFIG + SEP + HEAD + b"big 4294967295 A 192.0.2.9\n"
    s["ttl-negative"] = CONFIG + SEP + HEAD + b"neg -1 A 192.0.2.9\n"
    s["ttl-overflow"] = CONFIG + SEP + HEAD.replace(b"$TTL 300", b"$TTL 99999999999999999999w")
    s["include-missing"] = CONFIG + SEP + HEAD + b"$INCLUDE extra.inc\n"
    s["include-self-loop"] = CONFIG + SEP + HEAD + b"$INCLUDE example.com.zone\n"
    s["include-config"] = CONFIG + SEP + HEAD + b"$INCLUDE ../hale.toml\n"
    s["include-with-origin"] = CONFIG + SEP + HEAD + b"$INCLUDE extra.inc sub.example.com.\n"
    s["no-soa"] = CONFIG + SEP + b"$TTL 300\n@ NS ns1\nns1 A 192.0.2.1\n"
    s["two-soas"] = CONFIG + SEP + HEAD + b"@ SOA ns2 hostmaster 2 3600 900 1209600 60\n"
    s["soa-below-apex"] = CONFIG + SEP + HEAD + b"sub SOA ns1 hostmaster 1 2 3 4 5\n"
    s["no-apex-ns"] = CONFIG + SEP + b"$TTL 300\n@ SOA ns1 hostmaster 1 2 3 4 5\nns1 A 192.0.2.1\n"
    s["cname-and-other-data"] = CONFIG + SEP + HEAD + b"www CNAME ns1\nwww TXT \"x\"\n"
    s["outside-origin"] = CONFIG + SEP + HEAD + b"www.example.net. A 192.0.2.1\n"
    s["class-ch"] = CONFIG + SEP + HEAD + b"www CH A 192.0.2.1\n"
    s["rfc3597-generic"] = CONFIG + SEP + HEAD + b"www TYPE999 \\# 4 C0000201\nx A \\# 4 C0000202\n"
    s["dname"] = CONFIG + SEP + HEAD + b"old DNAME example.net.\n"
    s["txt-over-255"] = CONFIG + SEP + HEAD + b'long TXT "' + b"z" * 300 + b'"\n'
    s["unclosed-quote-and-paren"] = CONFIG + SEP + HEAD + b'x TXT ( "open\n'
    s["escapes-in-names"] = CONFIG + SEP + HEAD + b"a\\.b A 192.0.2.1\n\\065\\066 A 192.0.2.2\n"
    s["empty-zone"] = CONFIG + SEP
    # The NSD corpus (tests/zones/nsd-corpus): one theme per file, the
    # accepted ones and the errors, as far as 4,096 bytes hold them.
    corpus = REPO / "tests" / "zones" / "nsd-corpus"
    for zone in sorted(corpus.glob("**/*.zone")):
        data = CONFIG + SEP + zone.read_bytes()
        if len(data) <= 4096:
            tag = str(zone.relative_to(corpus))[: -len(".zone")].replace("/", "-")
            s["nsd-corpus-" + tag] = data
    # What the fuzzer found once (artifacts-found/), replayed on every run.
    for found in sorted((HERE / "artifacts-found").glob("load-*")):
        if not found.name.endswith("-as-found"):
            s["found-" + found.name[len("load-"):]] = found.read_bytes()
    return s


def write(target, seeds):
    folder = HERE / "corpus" / target
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("seed-*"):
        if old.name[len("seed-"):] not in seeds:
            old.unlink()
    for tag, data in sorted(seeds.items()):
        assert len(data) <= 4096, (target, tag, len(data))
        (folder / f"seed-{tag}").write_bytes(data)
    print(f"{target}: {len(seeds)} seeds in {folder.relative_to(REPO)}")


if __name__ == "__main__":
    write("query", query_seeds())
    write("load", load_seeds())
