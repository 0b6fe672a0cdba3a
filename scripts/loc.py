#!/usr/bin/env python3
"""Non-test lines of Rust under a folder: every .rs file, less the test-only modules (declared
with `#[cfg(test)] mod x;`) and less everything from a file's first top-level `#[cfg(test)]`.
Usage: scripts/loc.py app/src/server/store (the measure used for issue #13)."""
import os, re, sys
root = sys.argv[1]
test_mods = set()
for d, _, fs in os.walk(root):
    for f in fs:
        if f.endswith('.rs'):
            lines = open(os.path.join(d, f)).read().split('\n')
            for i, l in enumerate(lines):
                if l.strip() == '#[cfg(test)]' and i + 1 < len(lines):
                    m = re.match(r'\s*(?:pub(?:\([^)]*\))?\s+)?mod (\w+);', lines[i + 1])
                    if m: test_mods.add(m.group(1))
total = 0
for d, _, fs in os.walk(root):
    for f in sorted(fs):
        if not f.endswith('.rs') or f[:-3] in test_mods: continue
        n = 0
        for l in open(os.path.join(d, f)):
            if l.startswith('#[cfg(test)]'): break
            n += 1
        total += n
print(total)
