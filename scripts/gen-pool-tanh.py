#!/usr/bin/env python3
"""Writes the unrolled MaxPooling2D + tanh loops of contracts/layers/Pooling2DBase.sol.

`_pool2x2` fuses tanh into the 2×2 maximum. Per value that is four CALLDATALOADs, three
branchless maxima and `Fixed.tanh`'s steps (≈ 330 gas of work); the loop around it costs
≈ 50 gas an iteration, and via-IR schedules a long straight body better than a short one (it
inlines no per-value helper into functions this size: a call per value costs ≈ 100 gas). So the
loops are unrolled by as many channels as divide the pixel's, and a Yul source cannot loop at
compile time: this script writes them, between the markers `// POOL_TANH begin` and
`// POOL_TANH end` (do not edit that part by hand):

- `tanhOfN` for N = 16, 6, 2: N channels an iteration, for channel counts divisible by N;
- `tanhPixels2x6`: two whole pixels of 6 channels an iteration (LeNet's first pooling: rows of
  an even number of pixels);
- the dispatch picking the first that fits, else `tanhOf` (one value an iteration, written by
  hand above the markers).

Each value's steps are those of `Fixed.activate`'s tanh loop, constant for constant (the same
integers as `Fixed.tanh` and the reference). Measured on fashion_mnist (kernel_gas, int8):
500,495 → 444,336 gas (6 channels) and 328,719 → 289,867 (16 channels); wider unrolls of 6
(a one-pixel loop without the channel loop) compiled worse. Usage:

    python3 scripts/gen-pool-tanh.py          rewrite the section
    python3 scripts/gen-pool-tanh.py --check  exit 1 if the section is not what this writes
"""

import pathlib
import sys

SOURCE = pathlib.Path(__file__).resolve().parent.parent / "contracts/layers/Pooling2DBase.sol"
BEGIN = "// POOL_TANH begin"
END = "// POOL_TANH end"
ARGS = "o, end, src, chBytes, rowBytes, diag, outRow, tbl, one, c62, one2"
CALL = "dst, end, src, chBytes, rowBytes, diag, outRow, table, one, c62, one2"
WIDTHS = (16, 6, 2)


def value(at, out):
    """One output: the maximum of the window at calldata `at`, its tanh stored at `out`."""
    return f"""{{
    let at := {at}
    let m := calldataload(at)
    let v := calldataload(add(at, chBytes))
    m := xor(m, mul(xor(m, v), sgt(v, m)))
    v := calldataload(add(at, rowBytes))
    m := xor(m, mul(xor(m, v), sgt(v, m)))
    v := calldataload(add(at, diag))
    m := xor(m, mul(xor(m, v), sgt(v, m)))
    let sg := sar(255, m)
    let t := mul(sub(xor(m, sg), sg), 0x2e2a8eca5705fc2ee)
    let g := and(shr(34, t), 0x3fffffffffffff)
    let p := sub(1107849223398934356, shr(62, mul(255967521894832113, g)))
    p := sub(3196577161300663915, shr(62, mul(p, g)))
    p := sub(c62, shr(62, mul(p, g)))
    let e := shr(add(92, shr(96, t)), mul(shr(192, mload(add(tbl, and(shr(85, t), 0x7f8)))), p))
    let y := div(one2, add(one, e))
    y := sub(add(y, y), one)
    mstore({out}, sub(xor(y, sg), sg))
}}"""


def offset(base, i):
    return base if i == 0 else f"add({base}, {hex(32 * i)})"


def loop(name, doc, values, step, pixel):
    """The three loops of `_pool2x2` (rows, pixels, channels) around `values` (one body), the
    channel loop advancing o by `step` bytes and the pixel loop d by `pixel` (an expression)."""
    body = "\n".join(values)
    lines = [
        f"// {doc}",
        f"function {name}({ARGS}) {{",
        "    for {} lt(o, end) { src := add(src, shl(1, rowBytes)) } {",
        "        let d := sub(src, o)",
        f"        for {{ let rowEnd := add(o, outRow) }} lt(o, rowEnd) {{ d := add(d, {pixel}) }} {{",
        f"            let pixEnd := add(o, {pixel})",
        f"            for {{}} lt(o, pixEnd) {{ o := add(o, {hex(step)}) }} {{",
    ]
    lines += ["                " + l for l in body.split("\n")]
    lines += ["            }", "        }", "    }", "}"]
    return lines


def section(indent):
    out = []
    for n in WIDTHS:
        values = [value(offset("add(o, d)", i), offset("o", i)) for i in range(n)]
        out += loop(f"tanhOf{n}", f"{n} channels an iteration (channel count divisible by {n}).", values, 32 * n, "chBytes")
    # Two pixels of 6 channels: the second pixel's window starts chBytes further on (d grows by
    # chBytes a pixel).
    values = [value(offset("add(o, d)", i), offset("o", i)) for i in range(6)]
    values += [value(offset("add(add(o, d), chBytes)", i), offset("o", i)) for i in range(6, 12)]
    out += loop("tanhPixels2x6", "Two pixels of 6 channels an iteration (an even number of them a row).", values, 32 * 12, "shl(1, chBytes)")
    out += [
        "// The widest loop that fits the channels (and, for two pixels, the row).",
        "function tanhOfAny(" + ARGS + ", channels, pixels) {",
        "    switch and(eq(channels, 6), iszero(and(pixels, 1)))",
        f"    case 1 {{ tanhPixels2x6({ARGS}) }}",
        "    default {",
    ]
    close = []
    for k, n in enumerate(WIDTHS):
        pad = "        " + "    " * k
        if n == 2:
            out += [f"{pad}switch and(channels, 1)", f"{pad}case 0 {{ tanhOf2({ARGS}) }}", f"{pad}default {{ tanhOf({ARGS}) }}"]
        else:
            out += [f"{pad}switch mod(channels, {n})", f"{pad}case 0 {{ tanhOf{n}({ARGS}) }}", f"{pad}default {{"]
            close.insert(0, pad + "}")
    out += close + ["    }", "}"]
    return "\n".join((indent + l) if l else l for l in out)


def main():
    text = SOURCE.read_text()
    a = text.index(BEGIN)
    b = text.index(END)
    line_start = text.rindex("\n", 0, a) + 1
    indent = text[line_start:a]
    new = text[: a + len(BEGIN)] + "\n" + section(indent) + "\n" + indent + text[b:]
    if "--check" in sys.argv[1:]:
        if new != text:
            sys.exit(f"{SOURCE}: the POOL_TANH section is not what scripts/gen-pool-tanh.py writes")
        return
    SOURCE.write_text(new)


if __name__ == "__main__":
    main()
