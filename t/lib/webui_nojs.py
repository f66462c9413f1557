#!/usr/bin/python3
"""webui_nojs.py - submit the Edit Settings form as a browser without JavaScript.

Fetches /edit with the session, builds what an HTML form submits (the
hidden fields, the text fields, the selected options, and the checked
boxes that are not disabled), with the boxes named on the command line
toggled first (a disabled box cannot be toggled: it is reported), posts
it to /edit and prints the status and Location of the answer.

usage: webui_nojs.py BASE COOKIE [BOX-ID...]
"""
import html.parser
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request

base, cookie, toggles = sys.argv[1], sys.argv[2], sys.argv[3:]
ctx = ssl._create_unverified_context()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=ctx), NoRedirect)


class Form(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.inputs, self.select = [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input":
            self.inputs.append(a)
        elif tag == "select":
            self.select = a["name"]
        elif tag == "option" and "selected" in a:
            self.inputs.append({"type": "select", "name": self.select, "value": a["value"]})


req = urllib.request.Request(base + "/edit", headers={"Cookie": cookie})
form = Form()
form.feed(opener.open(req, timeout=60).read().decode())
for t in toggles:
    box = next(i for i in form.inputs if i.get("id") == t)
    if "disabled" in box:
        print("disabled", t)
        continue
    if "checked" in box:
        del box["checked"]
    else:
        box["checked"] = ""
fields = []
for i in form.inputs:
    if "disabled" in i or "name" not in i:
        continue
    if i.get("type") == "checkbox" and "checked" not in i:
        continue
    fields.append((i["name"], i.get("value", "")))
body = urllib.parse.urlencode(fields).encode()
origin = base
req = urllib.request.Request(base + "/edit", data=body, method="POST",
                             headers={"Cookie": cookie, "Origin": origin,
                                      "Content-Type": "application/x-www-form-urlencoded"})
try:
    r = opener.open(req, timeout=60)
    print(r.status, r.headers.get("Location"))
except urllib.error.HTTPError as e:
    print(e.code, e.headers.get("Location"))
