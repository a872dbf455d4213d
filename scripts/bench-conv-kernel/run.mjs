// node scripts/bench-conv-kernel/run.mjs ['[["name", [h, w, cin, f, kh, kw, sh, sw, oh, ow, pt, pl], width], …]']
// Compiles ConvBench (a Conv2DLayer exposing ConvBase._convolveNarrowed: int16/int8 narrow their
// input as a plain Conv2D does) with solc-js,
// runs each convolution on a fresh anvil with random weights (width 1/2 bytes with scales, 4 as
// compact: no scales) and Q32.32 inputs in [-1, 1], checks the linear output against a BigInt
// reference, and prints the gas of the kernel. Env: PROFILE=1 prints an opcode histogram
// instead (debug_traceCall; TOP=n program counters); SRC=DIR compiles DIR/contracts (e.g.
// another checkout) for before/after comparisons (a checkout without `_convolveNarrowed` needs
// BENCH_FILE=a ConvBench.sol calling `_convolve`); INSCALE=k draws the inputs from [-k, k]
// (relu-sized inputs: other lane choices); F0=k computes filters [k, f) only (an output-channel
// slice, f0 = k); EXTREME=1 or -1 every input +INSCALE and every weight ±qmax (the lane sums
// at their bound); DUMP=FILE writes the bench contract's runtime code as
// {"deployedBytecode": …} (to disassemble next to a PROFILE=1 run). EternalConvKernel, where the
// checkout has it, is placed at its constant address (NO_KERNEL=1: not, to see the layer revert).
// SEED=n: another draw of the random inputs and weights (default 12345).
// Each case's act=1 line says "hosted" when a debug_traceCall (call tracer) shows the STATICCALL
// to that address, else "own lanes"; HOSTED=1 (or a case's {"host": true}) makes any case not
// hosted a failure (HOSTED=0 / {"host": false}: any hosted one). The cases may be a file
// (an argument not starting with "["), and a case's optional fourth element overrides the env
// for it: {"f0": k, "extreme": ±1, "inscale": k, "host": bool}. The exit status is 1 when any
// case is not EXACT or breaks its host expectation. The sweep of the merged kernel (session 13:
// 702 cases, 56 shapes × int8/int16 × default, F0=1, F0=3, EXTREME=±1, INSCALE=2 and 1.5;
// 15–30 s, all EXACT, 438 hosted as marked, 87 marked not hosted — every last-group size
// 0…Q−1 of every Q in both widths):
//   node scripts/bench-conv-kernel/run.mjs scripts/bench-conv-kernel/sweep.json
// (sweep.json is written by scripts/bench-conv-kernel/sweep-cases.mjs, which says which shapes.)
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { anvil as startAnvil, compile, deploy, root, sources, src, toSigned, word } from "../bench-support.mjs";
const BENCH = "scripts/bench-conv-kernel/ConvBench.sol";
const c = compile(BENCH, "ConvBench", ["evm.bytecode.object", "evm.deployedBytecode.object", "evm.methodIdentifiers"], process.env.BENCH_FILE || join(root, BENCH));
const sel = c.evm.methodIdentifiers["bench(int256[],uint256[12],bytes,uint256,int256[],int256[],uint8)"];
if (process.env.DUMP) writeFileSync(process.env.DUMP, JSON.stringify({ deployedBytecode: c.evm.deployedBytecode.object }));
// EternalConvKernel (where the checkout has it), placed by anvil_setCode at the address
// contracts/lib/ConvKernelAddress.sol names, so the hosted path is measured and checked too.
let kernelCode = null, kernelAt = null;
if (sources["contracts/EternalConvKernel.sol"]) {
  kernelCode = "0x" + compile("contracts/EternalConvKernel.sol", "EternalConvKernel", ["evm.deployedBytecode.object"], null).evm.deployedBytecode.object;
  kernelAt = readFileSync(join(src, "contracts/lib/ConvKernelAddress.sol"), "utf8").match(/CONV_KERNEL = (0x[0-9a-fA-F]{40})/)[1];
}
const anvil = startAnvil(process.env.PORT || "18645");
const rpc = anvil.rpc;
// ABI encode (int[] inputs, uint[12], bytes, uint width, int[] scales, int[] bias, uint8 act)
function encode(inputs, gg, kernelHex, width, scales, bias, act) {
  const headWords = 1 + 12 + 1 + 1 + 1 + 1 + 1;
  let head = [], tail = "";
  const off = () => word(headWords * 32 + tail.length / 2);
  const arr = (a) => word(a.length) + a.map(word).join("");
  head.push(off()); tail += arr(inputs);
  for (const x of gg) head.push(word(x));
  head.push(off()); { const b = kernelHex; const padded = b + "0".repeat((64 - (b.length % 64)) % 64); tail += word(b.length / 2) + padded; }
  head.push(word(width));
  head.push(off()); tail += arr(scales);
  head.push(off()); tail += arr(bias);
  head.push(word(act));
  return head.join("") + tail;
}
let seed = +(process.env.SEED || 12345);
const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff; };
const sar = (v, n) => v >> BigInt(n);
// The reference's `quant::input_shift` and `narrow`: int16/int8 round the input to 2^e.
function narrowed(inp, g, width) {
  const [, , cin, , kh, kw] = g;
  if (width > 2) return inp;
  let e = 0; for (let t = kh * kw * cin - 1; t > 0; t >>= 1) e++;
  if (width == 1) e += 8;
  else e += 6;
  const E = BigInt(e);
  return e == 0 ? inp : inp.map((x) => ((x + (1n << (E - 1n))) >> E) << E);
}
function reference(inp, g, q, scales, bias) {
  const [h, w, cin, f, kh, kw, sh, sw, oh, ow, pt, pl] = g;
  const out = [];
  for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) for (let fi = 0; fi < f; fi++) {
    let s = 0n;
    for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) for (let ci = 0; ci < cin; ci++) {
      const iy = oy * sh + ky - pt, ix = ox * sw + kx - pl;
      if (iy < 0 || ix < 0 || iy >= h || ix >= w) continue;
      s += inp[(iy * w + ix) * cin + ci] * BigInt(q[((ky * kw + kx) * cin + ci) * f + fi]);
    }
    out.push(sar(s * scales[fi] + (bias[fi] << 32n), 32));
  }
  return out;
}
async function main() {
  const addr = await deploy(rpc, c.evm.bytecode.object);
  if (kernelCode && !process.env.NO_KERNEL) await rpc("anvil_setCode", [kernelAt, kernelCode]);
  const arg = process.argv[2];
  const cases = JSON.parse(arg && !arg.startsWith("[") ? readFileSync(arg, "utf8") : arg || "null") || [
    ["conv2 int8", [14, 14, 6, 16, 5, 5, 1, 1, 14, 14, 2, 2], 1],
    ["conv2 int16", [14, 14, 6, 16, 5, 5, 1, 1, 14, 14, 2, 2], 2],
    ["conv1 int8", [28, 28, 1, 6, 5, 5, 1, 1, 28, 28, 2, 2], 1],
    ["conv1 int16", [28, 28, 1, 6, 5, 5, 1, 1, 28, 28, 2, 2], 2],
  ];
  let failed = 0, hostedCount = 0, checked = 0;
  const envHost = process.env.HOSTED === undefined ? undefined : process.env.HOSTED === "1";
  for (const [name, g, width, opt = {}] of cases) {
    const [h, w, cin, f, kh, kw] = g;
    // EXTREME=1 or -1: every input +INSCALE and every weight ±qmax (lane sums at their bound).
    const ext = +(opt.extreme ?? process.env.EXTREME ?? 0);
    const inscale = +(opt.inscale ?? process.env.INSCALE ?? 1);
    const expectHost = opt.host ?? envHost;
    const inp = Array.from({ length: h * w * cin }, () => BigInt(Math.round((ext ? 1 : rnd() * 2 - 1) * 2 ** 32 * inscale)));
    const qmax = width == 1 ? 127 : width == 2 ? 32767 : 2 ** 30;
    const n = kh * kw * cin * f;
    const q = Array.from({ length: n }, () => (ext ? ext * qmax : Math.round((rnd() * 2 - 1) * qmax)));
    const kernelHex = q.map((v) => ((BigInt(v) + (1n << BigInt(8 * width))) % (1n << BigInt(8 * width))).toString(16).padStart(2 * width, "0")).join("");
    const scales = width == 4 ? Array.from({ length: f }, () => 1n) : Array.from({ length: f }, () => BigInt(Math.round(rnd() * 2 ** 24) + 1));
    const bias = Array.from({ length: f }, () => BigInt(Math.round((rnd() * 2 - 1) * 2 ** 30)));
    // F0=k: the layer computes filters [k, f) of the stored f (an output-channel slice).
    const f0 = +(opt.f0 ?? process.env.F0 ?? 0);
    const want = reference(narrowed(inp, g, width), g, q, scales, bias).filter((_, i) => i % f >= f0);
    for (const act of [1, 4]) {
      const data = "0x" + sel + encode(inp, g, kernelHex, width | (f0 << 8), width == 4 ? [] : scales, bias, act);
      if (process.env.PROFILE) {
        if (act != 1) continue;
        const t = await rpc("debug_traceCall", [{ to: addr, data, gas: "0x3b9aca00" }, "latest", { disableStack: true, disableMemory: true, disableStorage: true }]);
        // A step's own gas: the gas left before it minus before the next step at its depth (a
        // call then counts what its callee spends), as scripts/profile-layer.py.
        const logs = t.structLogs, own = new Array(logs.length);
        let following = {};
        for (let i = logs.length - 1; i >= 0; i--) {
          const d = logs[i].depth, j = following[d];
          own[i] = j !== undefined ? logs[i].gas - logs[j].gas : logs[i].gasCost;
          for (const k of Object.keys(following)) if (+k > d) delete following[k];
          following[d] = i;
        }
        // DEPTH=2: the kernel's side of a hosted convolution (EternalConvKernel); PCS=n: its
        // gas in n-byte code ranges too, to read with a disassembly.
        const depth = +(process.env.DEPTH || 1);
        const byOp = {}; const byPc = {}; const cnt = {}; const ranges = {};
        logs.forEach((l, i) => {
          if (l.depth !== depth) return;
          byOp[l.op] = (byOp[l.op] || 0) + own[i]; byPc[l.pc + l.op] = (byPc[l.pc + l.op] || 0) + own[i]; cnt[l.pc + l.op] = (cnt[l.pc + l.op] || 0) + 1;
          if (process.env.PCS) { const r = l.pc - (l.pc % +process.env.PCS); ranges[r] = (ranges[r] || 0) + own[i]; }
        });
        console.log(name, "total", t.gas, "depth", depth, Object.values(byOp).reduce((a, b) => a + b, 0), Object.entries(byOp).sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => k + ":" + v).join(" "));
        if (process.env.PCS) console.log(Object.entries(ranges).sort((a, b) => +a[0] - +b[0]).map(([k, v]) => k + ":" + v).join(" "));
        const pcs = Object.entries(byPc).sort((a, b) => b[1] - a[1]).slice(0, +(process.env.TOP || 40));
        console.log(pcs.map(([k, v]) => k + ":" + v + "x" + cnt[k]).join(" "));
        continue;
      }
      let r;
      try {
        r = await rpc("eth_call", [{ to: addr, data, gas: "0x3b9aca00" }, "latest"]);
      } catch (e) {
        // NO_KERNEL=1: the hosted cases revert (ConvKernelMissing), the others run as before.
        if (!process.env.NO_KERNEL) throw e;
        console.log(`${name} act=${act}: reverts ${String(e).match(/"data":"(0x[0-9a-f]{8})/)?.[1]}`);
        continue;
      }
      const hex = r.slice(2);
      const used = BigInt("0x" + hex.slice(0, 64));
      const len = Number(BigInt("0x" + hex.slice(128, 192)));
      const got = []; for (let i = 0; i < len; i++) got.push(toSigned(hex.slice(192 + 64 * i, 256 + 64 * i)));
      let ok = "";
      if (act == 1) {
        let bad = 0; for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) bad++;
        ok = (len === want.length && bad === 0) ? "EXACT" : `MISMATCH ${bad}/${want.length} len ${len}`;
        if (ok !== "EXACT") failed++;
        checked++;
        // Hosted: the call tracer shows a STATICCALL to EternalConvKernel's address.
        let hosted = false;
        if (kernelAt && !process.env.NO_KERNEL) {
          const t = await rpc("debug_traceCall", [{ to: addr, data, gas: "0x3b9aca00" }, "latest", { tracer: "callTracer" }]);
          const walk = (c) => { if (c.type === "STATICCALL" && c.to?.toLowerCase() === kernelAt.toLowerCase()) hosted = true; (c.calls || []).forEach(walk); };
          walk(t);
        }
        if (hosted) hostedCount++;
        ok += hosted ? " hosted" : " own lanes";
        if (expectHost !== undefined && hosted !== expectHost) { failed++; ok += ` (expected ${expectHost ? "hosted" : "own lanes"})`; }
      }
      console.log(`${name} act=${act}: ${used} gas ${ok}`);
    }
  }
  if (!process.env.PROFILE) console.log(`${checked} cases: ${failed ? failed + " FAILED" : "all EXACT"}, ${hostedCount} hosted`);
  if (failed) process.exitCode = 1;
}
main().then(() => anvil.kill(), (e) => { console.error(e); anvil.kill(); process.exit(1); });
