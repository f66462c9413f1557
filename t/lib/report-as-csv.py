#!/usr/bin/python3
# report-as-csv.py - read segtls report's table, JSON or HTML output and
# print the numbers as segtls report --csv does, so that a test can check
# that every format says the same.
#
#   report-as-csv.py text|json|html <FILE
import html.parser, json, re, sys

HEAD = ("direction,domain,connections,tls_success,tls_failed,tls_failed_required,plain,"
        "messages,messages_tls,encrypted_percent,versions,ciphers")


def kv(s, sep=", "):
    return "" if s in ("-", "") else ";".join(p.replace(" ", "=") for p in s.split(sep))


def line(d, cells):
    dom = "*" if cells[0] == "Total" else cells[0]
    pct = cells[8].rstrip("%") if cells[8] != "-" else ""
    return ",".join([d, dom] + cells[1:8] + [pct, kv(cells[9]), kv(cells[10])])


out = [HEAD]
kind = sys.argv[1]
data = sys.stdin.read()
if kind == "json":
    j = json.loads(data)
    for d in ("inbound", "outbound"):
        if d not in j:
            continue
        for r in j[d]["rows"] + [j[d]["total"]]:
            pct = "" if r["encrypted_percent"] is None else "%.1f" % r["encrypted_percent"]
            out.append(",".join([d, r["domain"]] + [str(r[k]) for k in (
                "connections", "tls_success", "tls_failed", "tls_failed_required", "plain",
                "messages", "messages_tls")] + [pct] + [
                ";".join("%s=%d" % x for x in r[k].items()) for k in ("versions", "ciphers")]))
elif kind == "text":
    d = None
    for l in data.splitlines():
        if l.startswith("Inbound ("):
            d = "inbound"
        elif l.startswith("Outbound ("):
            d = "outbound"
        elif d and l and not l.startswith("Domain "):
            cells = re.split(r" {2,}", l.strip())
            cells += ["-"] * (11 - len(cells))
            out.append(line(d, cells))
else:
    class P(html.parser.HTMLParser):
        d = None
        row = None
        cell = None

        def handle_starttag(self, tag, attrs):
            if tag == "table":
                self.d = dict(attrs).get("id")
            elif tag == "tr":
                self.row = []
            elif tag == "td":
                self.cell = ""

        def handle_endtag(self, tag):
            if tag == "td":
                self.row.append(self.cell)
                self.cell = None
            elif tag == "tr" and self.row:
                out.append(line(self.d, self.row))
                self.row = None

        def handle_data(self, data):
            if self.cell is not None:
                self.cell += data
    P().feed(data)
print("\r\n".join(out), end="\r\n")
