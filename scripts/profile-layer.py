#!/usr/bin/env python3
"""Where one layer call of `predictLayers` spends its gas, from anvil's struct-log trace.

Dump the calls first (anvil stays up while the test sleeps):

    KERNEL_GAS_DUMP=/tmp/kg KERNEL_GAS_FORMATS=int8 \\
        cargo test --test all -- kernel_gas:: --ignored --nocapture

then, in another shell, with LAYER the layer's position in the model (fashion_mnist's 784→70
Dense is 6):

    python3 scripts/profile-layer.py /tmp/kg/int8.json LAYER [--phases GAS] [--pcs BYTES] [--depth D]

The layer call (from the model, as `predictLayers` makes it) is traced on its own. Printed: gas
by opcode at each call depth (1 is the layer's implementation, called directly since
`directcall`; 2 what it calls, e.g. EternalConvKernel or the model; a CALL counts what its
callee spends), the phases in execution order (runs of at least GAS gas whose busiest
code is one 512-byte region: the kernel loops, the narrowing pass, the weight copies stand out)
and with --pcs the costliest BYTES-wide code ranges, both at depth D (default 2: a hosted
convolution's kernel; 1 for a layer's own loops, e.g. Dense), to read with a disassembly of
artifacts/NAME.json. Standard library only.
"""

import argparse
import collections
import json
import urllib.request


def rpc(url, method, params):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    reply = json.loads(urllib.request.urlopen(req).read())
    if "error" in reply:
        raise SystemExit(f"{method}: {reply['error']}")
    return reply["result"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dump", help="FORMAT.json written by kernel_gas with KERNEL_GAS_DUMP")
    ap.add_argument("layer", type=int, help="the layer's position in the model")
    ap.add_argument("--phases", type=int, default=3000, metavar="GAS")
    ap.add_argument("--pcs", type=int, default=0, metavar="BYTES")
    ap.add_argument("--depth", type=int, default=2, metavar="D",
                    help="the depth phases and code ranges are read at (1: the layer itself)")
    args = ap.parse_args()
    dump = json.load(open(args.dump))
    url = dump["url"]
    top = rpc(url, "debug_traceCall", [
        {"to": dump["to"], "data": dump["data"], "gas": "0x3b9aca00"}, "latest",
        {"tracer": "callTracer"}])
    call = top["calls"][0]["calls"][args.layer]
    print(f"layer {args.layer}: {int(call['gasUsed'], 16)} gas inside predictLayers")
    trace = rpc(url, "debug_traceCall", [
        {"from": call["from"], "to": call["to"], "data": call["input"], "gas": call["gas"]},
        "latest", {"disableStack": True, "disableMemory": True, "disableStorage": True}])
    logs = trace["structLogs"]
    # A step's own gas: the gas left before it minus before the next step at its depth (a call
    # then includes its callee), or its cost when nothing at its depth follows.
    own = [0] * len(logs)
    following = {}
    for i in range(len(logs) - 1, -1, -1):
        depth = logs[i]["depth"]
        j = following.get(depth)
        own[i] = logs[i]["gas"] - logs[j]["gas"] if j is not None else logs[i]["gasCost"]
        following = {d: k for d, k in following.items() if d < depth}
        following[depth] = i
    ops = collections.defaultdict(collections.Counter)
    for step, gas in zip(logs, own):
        ops[step["depth"]][step["op"]] += gas
    for depth in sorted(ops):
        top_ops = ", ".join(f"{op} {g}" for op, g in ops[depth].most_common(8))
        print(f"depth {depth}: {sum(ops[depth].values())} ({top_ops})")
    print(f"phases (depth {args.depth}, in order):")
    phases = []
    done = start = 0
    spent = collections.Counter()
    regions = collections.Counter()

    def close():
        region = regions.most_common(1)[0][0] if regions else -1
        if phases and phases[-1][0] == region:
            phases[-1][2] = done
            phases[-1][3].update(spent)
        else:
            phases.append([region, start, done, spent.copy()])

    for step, gas in zip(logs, own):
        if step["depth"] != args.depth:
            continue
        done += gas
        spent[step["op"]] += gas
        regions[step["pc"] // 512 * 512] += gas
        if done - start >= args.phases:
            close()
            start = done
            spent.clear()
            regions.clear()
    close()
    for region, a, b, spent in phases:
        top_ops = ", ".join(f"{op} {g}" for op, g in spent.most_common(4))
        print(f"  {a:>9} .. {b:>9} {b - a:>8}  pc ~{region:>6}  {top_ops}")
    if args.pcs:
        ranges = collections.Counter()
        for step, gas in zip(logs, own):
            if step["depth"] == args.depth:
                ranges[step["pc"] // args.pcs * args.pcs] += gas
        print(f"costliest {args.pcs}-byte code ranges (depth {args.depth}):")
        for pc, gas in ranges.most_common(20):
            print(f"  {pc:>6} .. {pc + args.pcs - 1:>6} {gas:>9}")


if __name__ == "__main__":
    main()
