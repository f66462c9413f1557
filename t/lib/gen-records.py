#!/usr/bin/python3
# gen-records.py - mail_logs records with a known TLS Connections report.
#
#   gen-records.py [--seed N] [--scale K] [--since EPOCH] [--until EPOCH] RECORDS EXPECT.csv
#
# Writes RECORDS (SPEC §6 lines, times in the process's TZ; the tests use
# UTC) for a fixed set of domains, each with a known number of sessions
# per outcome, interleaved in time over two days, and EXPECT.csv: the
# report that segtls report --csv must print for [since, until), counted
# here from the sessions made, not from the records. --scale multiplies
# every count (benchmarks).
import argparse, random, time

ap = argparse.ArgumentParser()
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--scale", type=int, default=1)
ap.add_argument("--since", type=int, default=None)
ap.add_argument("--until", type=int, default=None)
ap.add_argument("records")
ap.add_argument("expect")
a = ap.parse_args()
rnd = random.Random(a.seed)
T0 = 1795824000          # Sat Nov 28 00:00:00 2026 UTC
SPAN = 2 * 86400

# inbound: (reverse dns host, verified, domain reported) -> outcome counts
# outcomes: ok13 ok12 (TLS success 1.3/1.2), fail (TLS failed), req (TLS was
# required ...), plain; msgs: messages per connection
INBOUND = [
    ("mx1.alpha.example", "yes", "alpha.example", dict(ok13=7, ok12=2, fail=1, req=0, plain=2), 2),
    ("mx2.alpha.example", "yes", "alpha.example", dict(ok13=3, ok12=0, fail=0, req=1, plain=0), 1),
    ("relay.beta.co.uk", "yes", "beta.co.uk", dict(ok13=0, ok12=4, fail=2, req=0, plain=5), 1),
    ("spoof.gamma.example", "no", "unknown", dict(ok13=1, ok12=0, fail=0, req=0, plain=3), 0),
    ("unknown", "no", "unknown", dict(ok13=0, ok12=0, fail=3, req=2, plain=1), 0),
]
# outbound: recipient domain, peer port -> outcome counts
# ok13/ok12: TLS success + delivery; failed: TLS failed then delivered in
# plain; defer: TLS deferring, nothing delivered; nostls_sent: STARTTLS
# not supported, delivered in plain; nostls_req: not supported, nothing
# delivered; plain: no TLS, delivered
OUTBOUND = [
    ("delta.example", 2501, dict(ok13=6, ok12=1, failed=1, defer=2, nostls_sent=0, nostls_req=0, plain=0)),
    ("epsilon.example", 2502, dict(ok13=0, ok12=3, failed=0, defer=0, nostls_sent=2, nostls_req=1, plain=4)),
    ("zeta.example", 2503, dict(ok13=2, ok12=0, failed=0, defer=0, nostls_sent=0, nostls_req=0, plain=0)),
]
C13 = "TLS_AES_256_GCM_SHA384"
C12 = "ECDHE-RSA-AES256-GCM-SHA384"
ERR = "(167772418, 'error:0A000102:SSL routines::unsupported protocol')"

sessions = []   # (start, kind, params)
for host, ver, dom, outc, msgs in INBOUND:
    for o, n in outc.items():
        for _ in range(n * a.scale):
            sessions.append((T0 + rnd.randrange(SPAN), "in", (host, ver, dom, o, msgs)))
for dom, port, outc in OUTBOUND:
    for o, n in outc.items():
        for _ in range(n * a.scale):
            sessions.append((T0 + rnd.randrange(SPAN), "out", (dom, port, o)))
sessions.sort(key=lambda s: s[0])

events = []     # (time, seq, text)
seq = 0
icid = dcid = mid = 0
exp = {}        # (dir, domain) -> counters
msg_of = []     # outbound: messages made by inbound connections, to deliver


def count(direction, dom, o, msgs, when):
    if a.since is not None and when < a.since or a.until is not None and when >= a.until:
        return
    for key in ((direction, dom), (direction, "*")):
        c = exp.setdefault(key, dict(conns=0, ok=0, fail=0, req=0, plain=0, msgs=0, msgs_tls=0, v={}, c={}))
        c["conns"] += 1
        if o in ("ok13", "ok12"):
            c["ok"] += 1
            v = "TLSv1.3" if o == "ok13" else "TLSv1.2"
            c["v"][v] = c["v"].get(v, 0) + 1
            ci = C13 if o == "ok13" else C12
            c["c"][ci] = c["c"].get(ci, 0) + 1
            c["msgs_tls"] += msgs
        elif o in ("fail", "req", "failed", "defer", "nostls_req"):
            c["fail"] += 1
            c["req"] += o in ("req", "defer", "nostls_req")
        else:
            c["plain"] += 1
        c["msgs"] += msgs


def ev(t, text):
    global seq
    seq += 1
    events.append((t, seq, text))


for start, kind, p in sessions:
    if kind == "in":
        host, ver, dom, o, msgs = p
        icid += 1
        ev(start, "New SMTP ICID %d interface postfix (127.0.0.1) address 192.0.2.%d reverse dns host %s verified %s" % (icid, icid % 250 + 1, host, ver))
        if o == "ok13":
            ev(start, "ICID %d TLS success protocol TLSv1.3 cipher %s" % (icid, C13))
        elif o == "ok12":
            ev(start, "ICID %d TLS success protocol TLSv1.2 cipher %s" % (icid, C12))
        elif o == "fail":
            ev(start, "ICID %d TLS failed: %s" % (icid, ERR))
        elif o == "req":
            ev(start, "ICID %d TLS was required but remote host did not initiate it" % icid)
        for _ in range(msgs):
            mid += 1
            ev(start + 1, "Start MID %d ICID %d" % (mid, icid))
            ev(start + 1, "MID %d ICID %d From: <s@%s>" % (mid, icid, dom))
            ev(start + 1, "MID %d ICID %d RID 0 To: <u@local.example>" % (mid, icid))
            ev(start + 2, "Message finished MID %d done" % mid)
        ev(start + 3, "ICID %d close" % icid)
        count("inbound", dom, o, msgs, start)
    else:
        dom, port, o = p
        dcid += 1
        mid += 1
        delivered = o not in ("defer", "nostls_req")
        # the message: two recipients in the domain, one elsewhere (not in this delivery)
        ev(start - 5, "Start MID %d ICID 0" % mid)
        ev(start - 5, "MID %d ICID 0 From: <root@local.example>" % mid)
        ev(start - 5, "MID %d ICID 0 RID 0 To: <a@%s>" % (mid, dom.upper() if mid % 2 else dom))
        ev(start - 5, "MID %d ICID 0 RID 1 To: <b@%s>" % (mid, dom))
        ev(start, "New SMTP DCID %d interface 127.0.0.1 address 198.51.100.7 port %d" % (dcid, port))
        if o in ("ok13", "ok12"):
            v, c = ("TLSv1.3", C13) if o == "ok13" else ("TLSv1.2", C12)
            ev(start, "DCID %d TLS success protocol %s cipher %s" % (dcid, v, c))
        elif o == "failed":
            ev(start, "DCID %d TLS failed: %s" % (dcid, ERR))
        elif o == "defer":
            ev(start, "DCID %d TLS deferring: %s" % (dcid, ERR))
        elif o.startswith("nostls"):
            ev(start, "DCID %d STARTTLS command not supported." % dcid)
        if delivered:
            ev(start + 1, "Delivery start DCID %d MID %d to RID [0, 1]" % (dcid, mid))
            ev(start + 1, "Message done DCID %d MID %d to RID [0, 1]" % (dcid, mid))
        ev(start + 2, "DCID %d close" % dcid)
        if delivered:
            ev(start + 3, "Message finished MID %d done" % mid)
        count("outbound", dom, o, 1 if delivered else 0, start)

events.sort(key=lambda e: (e[0], e[1]))
with open(a.records, "w") as f:
    for t, _, text in events:
        f.write("%s Info: %s\n" % (time.strftime("%a %b %e %H:%M:%S %Y", time.localtime(t)), text))


def kv(d):
    return ";".join("%s=%d" % (k, v) for k, v in sorted(d.items(), key=lambda x: (-x[1], x[0])))


with open(a.expect, "w", newline="") as f:
    f.write("direction,domain,connections,tls_success,tls_failed,tls_failed_required,plain,"
            "messages,messages_tls,encrypted_percent,versions,ciphers\r\n")
    for d in ("inbound", "outbound"):
        rows = sorted(((k[1], c) for k, c in exp.items() if k[0] == d and k[1] != "*"),
                      key=lambda r: (-r[1]["conns"], r[0]))
        for dom, c in rows + [("*", exp.get((d, "*")))]:
            if c is None:
                continue
            f.write("%s,%s,%d,%d,%d,%d,%d,%d,%d,%s,%s,%s\r\n" % (
                d, dom, c["conns"], c["ok"], c["fail"], c["req"], c["plain"], c["msgs"],
                c["msgs_tls"], "%.1f" % (100.0 * c["ok"] / c["conns"]) if c["conns"] else "",
                kv(c["v"]), kv(c["c"])))
