#!/usr/bin/env python3
"""Checks a release wasm bundle for the fault that kept it from hydrating.

wasm-bindgen keeps JavaScript values in a table of `externref`s that it exports as
`__wbindgen_externrefs`; its JS glue fills that table at start-up. Debian's binaryen 108
(`wasm-opt -Oz`, with or without `--enable-reference-types`) rewrote the module so that this
export named the *function* table instead. The bundle still validates, but every page then
throws `WebAssembly.Table.set(): Argument 1 is invalid for table: function-typed object must be
null…` before hydrating. scripts/setup.sh therefore puts Binaryen 132 from npm first on PATH.
This check reads the table and export sections and fails unless the exported table really
holds externrefs.

Usage: scripts/check-wasm.py path/to/yikatong.wasm
"""
import sys

FUNCREF, EXTERNREF = 0x70, 0x6F
NAMES = {FUNCREF: "funcref", EXTERNREF: "externref"}


def leb(data, pos):
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def name(data, pos):
    n, pos = leb(data, pos)
    return data[pos:pos + n].decode("utf-8", "replace"), pos + n


def limits(data, pos):
    flags, pos = leb(data, pos)
    _, pos = leb(data, pos)
    if flags & 1:
        _, pos = leb(data, pos)
    return pos


def tables_and_exports(data):
    if data[:4] != b"\0asm":
        raise ValueError("not a wasm module")
    pos, tables, exports = 8, [], {}
    while pos < len(data):
        section = data[pos]
        size, pos = leb(data, pos + 1)
        end = pos + size
        if section == 2:  # imports: imported tables come first in the table index space
            count, p = leb(data, pos)
            for _ in range(count):
                _, p = name(data, p)
                _, p = name(data, p)
                kind = data[p]
                p += 1
                if kind == 0:  # function: type index
                    _, p = leb(data, p)
                elif kind == 1:  # table
                    tables.append(data[p])
                    p = limits(data, p + 1)
                elif kind == 2:  # memory
                    p = limits(data, p)
                elif kind == 3:  # global: value type, mutability
                    p += 2
                else:
                    _, p = leb(data, p)  # tag
        elif section == 4:  # tables
            count, p = leb(data, pos)
            for _ in range(count):
                tables.append(data[p])
                p = limits(data, p + 1)
        elif section == 7:  # exports
            count, p = leb(data, pos)
            for _ in range(count):
                export, p = name(data, p)
                kind = data[p]
                index, p = leb(data, p + 1)
                if kind == 1:
                    exports[export] = index
        pos = end
    return tables, exports


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    with open(sys.argv[1], "rb") as f:
        tables, exports = tables_and_exports(f.read())
    shown = ", ".join(f"{i}: {NAMES.get(t, hex(t))}" for i, t in enumerate(tables))
    index = exports.get("__wbindgen_externrefs")
    if index is None:
        print(f"{sys.argv[1]}: no __wbindgen_externrefs export (tables {shown}); nothing to check")
        return 0
    if index >= len(tables) or tables[index] != EXTERNREF:
        print(f"{sys.argv[1]}: __wbindgen_externrefs names table {index}, which is not an externref "
              f"table (tables {shown}); wasm-opt ran without --enable-reference-types "
              f"(see wasm-opt-features in Cargo.toml)", file=sys.stderr)
        return 1
    print(f"{sys.argv[1]}: ok, __wbindgen_externrefs is table {index} (tables {shown})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
