#!/usr/bin/env python3
"""Lists import cycles between the modules of a Rust crate: module A refers to module B (a `use`
or a path such as `super::b::f` or `crate::x::b::T`) and B, directly or through others, refers
back to A. A module and its own ancestors are not counted (every submodule names its parent's
types). Exits 1 when there is a cycle. Usage: scripts/module-cycles.py app/src [more crate roots]
"""
import os
import re
import sys


def module_of(root, path):
    rel = os.path.relpath(path, root)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        rel = rel[:-1]
    return tuple(rel)


def path_attr_target(path, text):
    """Files a `#[path = "..."]` module declaration pulls in, with the module name."""
    out = []
    for m in re.finditer(r'#\[path\s*=\s*"([^"]+)"\]\s*(?:#\[[^\]]*\]\s*(?://[^\n]*\n\s*)?)*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;', text):
        out.append((os.path.normpath(os.path.join(os.path.dirname(path), m.group(1))), m.group(2)))
    return out


def crate_modules(root):
    files = {}
    for d, _, fs in os.walk(root):
        for f in fs:
            if f.endswith(".rs"):
                p = os.path.join(d, f)
                files[p] = module_of(root, p)
    # A file compiled as a module elsewhere (`#[path]`) lives there, once per place.
    mods = {}
    for p, m in files.items():
        mods.setdefault(p, []).append(m)
    for p, m in list(files.items()):
        for target, name in path_attr_target(p, open(p, encoding="utf-8").read()):
            parent = m
            placed = parent + (name,)
            prefix = os.path.dirname(target)
            mods[target] = [placed]
            for q in files:
                if q != target and q.startswith(prefix + os.sep):
                    rel = module_of(prefix, q)
                    mods[q] = [placed + rel] if rel else [placed]
            mods[target] = [placed]
    return mods


def code_only(text):
    """The text without comments, string and char literals (kept as empty `""`)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        elif c == "r" and re.match(r'r#*"', text[i:]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            hashes = re.match(r'r(#*)"', text[i:]).group(1)
            j = text.find('"' + hashes, i + len(hashes) + 2)
            out.append('""')
            i = n if j < 0 else j + 1 + len(hashes)
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""')
            i = j + 1
        elif c == "'" and re.match(r"'(\\.[^']*|[^\\'])'", text[i:]):
            i += len(re.match(r"'(\\.[^']*|[^\\'])'", text[i:]).group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out)


def refs(text, here, known):
    text = code_only(text)
    found = set()
    for m in re.finditer(r"\b((?:crate|super|self)(?:::\w+)+)", text):
        parts = m.group(1).split("::")
        if parts[0] == "crate":
            base, rest = (), parts[1:]
        else:
            base = list(here)
            rest = parts
            while rest and rest[0] in ("super", "self"):
                if rest[0] == "super":
                    base = base[:-1]
                rest = rest[1:]
            base = tuple(base)
        path = base
        target = base if base in known else None
        for seg in rest:
            path = path + (seg,)
            if path in known:
                target = path
            else:
                break
        if target is not None:
            found.add(target)
    # `use super::{a, b::c}` groups
    for m in re.finditer(r"use\s+(crate|super(?:::super)*)::\{([^;]*)\};", text, re.S):
        head = m.group(1).split("::")
        base = () if head[0] == "crate" else tuple(here[: len(here) - len(head)])
        for item in re.split(r"[,{}\s]+", m.group(2)):
            first = item.split("::")[0]
            if base + (first,) in known:
                found.add(base + (first,))
    return found


def related(a, b):
    return a[: len(b)] == b or b[: len(a)] == a


def main(roots):
    cycles = []
    for root in roots:
        mods = crate_modules(root)
        known = {m for ms in mods.values() for m in ms}
        graph = {}
        for p, ms in mods.items():
            text = open(p, encoding="utf-8").read()
            for here in ms:
                for t in refs(text, here, known):
                    if not related(here, t):
                        graph.setdefault(here, set()).add(t)
        # Strongly connected components (Tarjan).
        index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]

        def visit(v):
            index[v] = low[v] = counter[0]
            counter[0] += 1
            stack.append(v)
            on.add(v)
            for w in graph.get(v, ()):
                if w not in index:
                    visit(w)
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
                comps.append(comp)

        sys.setrecursionlimit(10000)
        for v in sorted(known):
            if v not in index:
                visit(v)
        for comp in comps:
            if len(comp) > 1:
                cycles.append(sorted("::".join(c) for c in comp))
    for c in cycles:
        print("cycle: " + " <-> ".join(c))
    print(f"{len(cycles)} import cycle(s)")
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["app/src"]))
