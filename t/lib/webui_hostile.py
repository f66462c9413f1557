#!/usr/bin/python3
"""webui_hostile.py - the form and the API refuse exactly what `segtls set` refuses.

For every [KEY, VALUE] of a JSON file: `segtls set KEY VALUE` (argv, no
shell), PUT /api/v1/settings/pending {KEY: VALUE} and the Edit Settings
form posted with every current value and KEY=VALUE. Prints one JSON line
per case and way: accepted or not, the message (the CLI's without
"segtls: ", the API's error member, the form's error paragraph with HTML
unescaped), the HTTP status, and whether the settings changed; the
pending changes are cleared after each try.

usage: webui_hostile.py CASES.json SEGTLS BASE-URL COOKIE CSRF
"""
import html
import json
import re
import ssl
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

cases_file, segtls, base, cookie, csrf = sys.argv[1:6]
ctx = ssl._create_unverified_context()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=ctx), NoRedirect)


def call(method, path, body=None, ctype=None):
    h = {"Cookie": cookie, "X-CSRF-Token": csrf}
    if ctype:
        h["Content-Type"] = ctype
    req = urllib.request.Request(base + path, data=body, method=method, headers=h)
    try:
        with opener.open(req, timeout=60) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def settings():
    st, text = call("GET", "/api/v1/settings")
    return json.loads(text)


def current(s):
    return s["pending"] if s["pending"] is not None else s["committed"]


def clear():
    st, text = call("DELETE", "/api/v1/settings/pending")
    assert st == 200, text


def cli(key, value):
    r = subprocess.run([segtls, "set", key, value], capture_output=True, text=True)
    msg = r.stderr.strip()
    return r.returncode == 0, msg[len("segtls: "):] if msg.startswith("segtls: ") else msg


def api(key, value):
    st, text = call("PUT", "/api/v1/settings/pending", json.dumps({key: value}).encode(),
                    "application/json")
    return st == 200, json.loads(text).get("error"), st


def form(key, value, base_values):
    fields = dict(base_values)
    fields[key] = value
    fields["csrf"] = csrf
    fields["form"] = "edit"
    st, text = call("POST", "/edit", urllib.parse.urlencode(fields).encode(),
                    "application/x-www-form-urlencoded")
    m = re.search(r'<p class="error" id="error">(.*?)</p>', text, re.S)
    return st == 303, html.unescape(m.group(1)) if m else None, st


clear()
for key, value in json.load(open(cases_file)):
    out = {"key": key, "value": value}
    start = settings()
    for name, fn in (("cli", lambda: cli(key, value)), ("api", lambda: api(key, value)),
                     ("form", lambda: form(key, value, current(start)))):
        before = settings()
        res = fn()
        after = settings()
        out[name] = {"accepted": res[0], "message": res[1], "changed": before != after}
        if len(res) > 2:
            out[name]["status"] = res[2]
        clear()
    print(json.dumps(out))
