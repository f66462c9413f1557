#!/usr/bin/python3
# layers.t - libsegtls keeps its layers (lib/layers.mk): every #include of
# a lib file and every symbol one lib object takes from another stays
# inside its layer or goes down to a layer it USES; no two lib files
# depend on each other in a circle; no source sits in lib/ outside a layer.
import os, re, subprocess, sys
from collections import defaultdict

top = os.environ.get("SEGTLS_TOP") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
build = os.environ.get("SEGTLS_BUILD") or os.path.join(top, "build")
lib = os.path.join(top, "lib")
n = 0
failed = 0


def ok(cond, name, why=()):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, name))
    if not cond:
        failed += 1
        for w in why:
            print("#   " + w)


# the table
mk = open(os.path.join(lib, "layers.mk")).read()
layers = re.search(r"^LAYERS[ \t]*:=[ \t]*(.*)$", mk, re.M).group(1).split()
uses = {l: re.search(r"^LAYER_%s[ \t]*:=[ \t]*(.*)$" % l, mk, re.M).group(1).split() for l in layers}
rank = {l: i for i, l in enumerate(layers)}
bad = ["%s uses %s, which is not below it" % (l, u) for l in layers for u in uses[l]
       if u not in rank or rank[u] >= rank[l]]
ok(not bad, "lib/layers.mk: every layer uses only layers listed before it", bad)

# the files
home = {}                       # file name -> layer
stray = []
for name in sorted(os.listdir(lib)):
    path = os.path.join(lib, name)
    if os.path.isdir(path):
        if name not in layers:
            stray.append("lib/%s/ is not a layer of lib/layers.mk" % name)
            continue
        for f in sorted(os.listdir(path)):
            if f.endswith((".c", ".h")):
                if f in home:
                    stray.append("%s is in lib/%s and lib/%s" % (f, home[f], name))
                home[f] = name
    elif name.endswith((".c", ".h")):
        stray.append("lib/%s is in no layer" % name)
ok(not stray, "every lib source is in exactly one layer folder", stray)


def allowed(a, b):
    return a == b or b in uses[a]


# includes
wrong = []
for f, l in sorted(home.items()):
    for m in re.finditer(r'^\s*#\s*include\s+"([^"]+)"', open(os.path.join(lib, l, f)).read(), re.M):
        h = os.path.basename(m.group(1))
        if h not in home:
            wrong.append("lib/%s/%s includes \"%s\", which is no lib header" % (l, f, m.group(1)))
        elif not allowed(l, home[h]):
            wrong.append("lib/%s/%s includes %s of layer %s" % (l, f, h, home[h]))
ok(not wrong, "no lib file includes a header of a higher or sibling layer", wrong)

# symbols: who defines what, who uses what
objs = {}
for f, l in home.items():
    if f.endswith(".c"):
        o = os.path.join(build, "lib", l, f[:-2] + ".o")
        objs[f] = o
missing = [o for o in objs.values() if not os.path.exists(o)]
ok(not missing, "every lib object is built (make all)", missing[:5])
if missing:
    print("1..%d" % n)
    sys.exit(1)


def nm(o, *flags):
    out = subprocess.run(["nm", "-P", *flags, o], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


defs = {}
for f, o in objs.items():
    for s in nm(o, "--defined-only", "--extern-only"):
        defs[s] = f
edges = defaultdict(set)
wrong = []
for f, o in sorted(objs.items()):
    for s in nm(o, "--undefined-only"):
        g = defs.get(s)
        if g is None or g == f:
            continue
        edges[f].add(g)
        if not allowed(home[f], home[g]):
            wrong.append("lib/%s/%s uses %s of lib/%s/%s" % (home[f], f, s, home[g], g))
ok(not wrong, "no lib object uses a symbol of a higher or sibling layer", wrong)

# circles between files (Tarjan's strongly connected components)
index, low, stack, on, sccs = {}, {}, [], set(), []


def strong(v):
    index[v] = low[v] = len(index)
    stack.append(v)
    on.add(v)
    for w in sorted(edges[v]):
        if w not in index:
            strong(w)
            low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on.discard(w)
            comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            sccs.append(sorted(comp))


sys.setrecursionlimit(10000)
for v in sorted(objs):
    if v not in index:
        strong(v)
ok(not sccs, "no circle between lib files (calls)", [" <-> ".join(c) for c in sccs])
print("1..%d" % n)
sys.exit(1 if failed else 0)
