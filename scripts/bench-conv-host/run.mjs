// node scripts/bench-conv-host/run.mjs ['[["name", [h, w, cin, f, kh, kw, 1, 1, oh, ow, pt, pl], width], …]']
// Spike of branch `convhost`: polykernel's narrowed convolution kernel (`_convolvePoly`: Q = L −
// kw + 1 output pixels of kw taps a multiplication, six filters a block) hosted in its own
// contract (ConvKernel.sol, raw calldata), built four ways, the optimizer at 200 runs: (a) via-IR,
// (b) legacy codegen, (c) a Yul object whose dot loop is hand-scheduled EVM code (`verbatim`,
// 2 or 4 input words a pass). Each stride-1 case: random Q32.32 inputs in [-1, 1] narrowed as
// the reference does, random int8/int16 weights and scales, checked bit for bit against a BigInt
// reference, in two calldata layouts: `packed` (the layer packs: the input words, kernel words
// and terms as `_polyInput` / `_polyKernel` / `_terms` make them, built here in JS) and `raw` (the
// raw inputs and stored kernel bytes, the kernel packs). Gas of one STATICCALL made by Caller.sol
// (cold address, the callee's memory, the RETURNDATACOPY): `call` the whole call, `dot` the dot
// loops alone (call − a call skipping them) and per multiplication, `emit+` the emit and the
// rows' bookkeeping, `copy in` / `packing` the copy of the packed words to memory or the
// packing, `overhead` a call returning the zero output at once and one returning nothing.
// EXTREME=1 or -1: every input +1 and every weight ±qmax (lane sums at their bound). PORT=n
// anvil's port (18646).
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawn } from "node:child_process";
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const solc = createRequire(join(root, "tools/package.json"))("solc");
function compile(file, name, viaIR) {
  const input = { language: "Solidity", sources: { [file]: { content: readFileSync(join(here, file), "utf8") } }, settings: { evmVersion: "cancun", metadata: { appendCBOR: false, bytecodeHash: "none" }, optimizer: { enabled: true, runs: 200 }, viaIR, outputSelection: { [file]: { [name]: ["evm.bytecode.object", "evm.deployedBytecode.object"] } } } };
  const out = JSON.parse(solc.compile(JSON.stringify(input)));
  const errs = (out.errors || []).filter((e) => e.severity === "error");
  if (errs.length) { console.error(errs.map((e) => e.formattedMessage).join("\n")); anvil.kill(); process.exit(1); }
  return out.contracts[file][name].evm;
}
const port = process.env.PORT || "18646";
const anvil = spawn(join(root, "tools/node_modules/.bin/anvil"), ["--port", port, "--gas-limit", "1000000000", "--code-size-limit", "100000"], { stdio: "ignore" });
const url = `http://127.0.0.1:${port}`;
let id = 0;
async function rpc(method, params) { for (let i = 0; ; i++) { try { const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params }) }); const j = await r.json(); if (j.error) throw new Error(JSON.stringify(j.error)); return j.result; } catch (e) { if (i > 50 || !String(e).includes("fetch failed")) throw e; await new Promise((r) => setTimeout(r, 200)); } } }
const M = 1n << 256n;
const word = (v) => (((BigInt(v) % M) + M) % M).toString(16).padStart(64, "0");
const toSigned = (h) => { let v = BigInt("0x" + h); if (v >= 1n << 255n) v -= M; return v; };
let seed = 12345;
const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff; };
async function deploy(acct, code) {
  const tx = await rpc("eth_sendTransaction", [{ from: acct, data: "0x" + code, gas: "0x3000000" }]);
  let rc; for (;;) { rc = await rpc("eth_getTransactionReceipt", [tx]); if (rc) break; await new Promise((r) => setTimeout(r, 100)); }
  if (rc.status !== "0x1") throw new Error("deploy failed");
  return rc.contractAddress;
}
// The reference's input shift for a window of K taps (`quant::input_shift`, Sums::Window).
function shift(K, width) { let e = 0; for (let t = K - 1; t > 0; t >>= 1) e++; return e + (width == 1 ? 8 : 6); }
// Everything ConvBase would pass (ConvKernel.sol's header): raw = 0 the packed input words, kernel
// words and terms (packed here as `_polyInput` / `_polyKernel` / `_terms` do); raw = 1 the raw
// Q32.32 inputs, the stored kernel bytes and the terms (the kernel packs).
function payload(mode, g, inp, xn, q, scales, bias, width, e, raw) {
  const [h, w, cin, f, kh, kw, , , oh, ow, pt, pl] = g;
  const L = width == 1 ? 8 : 6, b = width == 1 ? 32 : 42, B = BigInt(b);
  const Q = L - kw + 1, hp = oh - 1 + kh, groups = Math.ceil(ow / Q), blocks = Math.ceil(f / 6);
  const wp = ow - 1 + kw;
  const at = (y, x, ci) => { const iy = y - pt, ix = x - pl; return x < wp && iy >= 0 && ix >= 0 && iy < h && ix < w ? xn[(iy * w + ix) * cin + ci] : 0n; };
  const xs = [], ws = [];
  if (!raw) {
    for (let gi = 0; gi < groups; gi++) for (let y = 0; y < hp; y++) for (let ci = 0; ci < cin; ci++) {
      let v = 0n; for (let j = 0; j < L; j++) v += at(y, gi * Q + j, ci) << (B * BigInt(j)); xs.push(v);
    }
    for (let blk = 0; blk < blocks; blk++) for (let ky = 0; ky < kh; ky++) for (let ci = 0; ci < cin; ci++) for (let k = 0; k < 6; k++) {
      const fi = blk * 6 + k; let v = 0n;
      if (fi < f) for (let kx = 0; kx < kw; kx++) v += BigInt(q[((ky * kw + kx) * cin + ci) * f + fi]) << (B * BigInt(kw - 1 - kx));
      ws.push(v);
    }
  }
  const terms = [];
  for (let fi = 0; fi < f + 5; fi++) {
    if (fi >= f) { terms.push(0n, 0n); continue; }
    const m = scales[fi] << BigInt(e);
    terms.push(m, (bias[fi] << 32n) - (m << (B - 1n)));
  }
  let halves = 0n; for (let l = 0; l < L; l++) halves |= 1n << (B * BigInt(l) + B - 1n);
  const head = 28;
  const X = raw ? inp : [];
  const kbytes = raw ? q.map((v) => ((BigInt(v) + (1n << BigInt(8 * width))) % (1n << BigInt(8 * width))).toString(16).padStart(2 * width, "0")).join("") : "";
  const kwords = Math.ceil(kbytes.length / 64);
  const o = (n) => 32 * n;
  const hdr = [mode, b, b * (kw - 1), halves, Q, f, oh, ow, pt, h, kh, cin, hp, 1,
    o(head), o(head + xs.length), o(head + xs.length + ws.length + X.length + kwords),
    e, w, width, f, 0, kw, L, o(head + xs.length + ws.length), o(head + xs.length + ws.length + X.length), raw, pl];
  let muls = 0;
  for (let oy = 0; oy < oh; oy++) { const ky0 = Math.max(pt - oy, 0); const ky1 = Math.max(Math.min(pt + h - oy, kh), ky0); muls += (ky1 - ky0) * cin * groups * blocks * 6; }
  const hex = [...hdr, ...xs, ...ws, ...X].map(word).join("") + kbytes.padEnd(64 * kwords, "0") + terms.map(word).join("");
  return { hex, words: hex.length / 64, xsLen: xs.length, wsLen: ws.length, muls };
}
function reference(xn, g, q, scales, bias, e) {
  const [h, w, cin, f, kh, kw, sh, sw, oh, ow, pt, pl] = g;
  const out = [];
  for (let oy = 0; oy < oh; oy++) for (let ox = 0; ox < ow; ox++) for (let fi = 0; fi < f; fi++) {
    let s = 0n;
    for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) for (let ci = 0; ci < cin; ci++) {
      const iy = oy * sh + ky - pt, ix = ox * sw + kx - pl;
      if (iy < 0 || ix < 0 || iy >= h || ix >= w) continue;
      s += xn[(iy * w + ix) * cin + ci] * BigInt(q[((ky * kw + kx) * cin + ci) * f + fi]);
    }
    out.push((s * (scales[fi] << BigInt(e)) + (bias[fi] << 32n)) >> 32n);
  }
  return out;
}
// (c) a Yul object: ConvKernel.sol's assembly with the dot loop's words replaced by up to U − 1
// words in Yul, then a hand-scheduled loop of U words a pass (`verbatim`, raw EVM code: the six
// accumulators stay in place on the stack, the kernel word at the pointer plus an immediate; memory, as in ConvKernel.sol's dot).
// Stack, top first: c0 … c5, v, L (the loop's JUMPDEST, from PC), xa, xe, wp.
const OP = { ADD: 0x01, MUL: 0x02, LT: 0x10, MLOAD: 0x51, POP: 0x50, JUMPI: 0x57, PC: 0x58, JUMPDEST: 0x5b, PUSH0: 0x5f };
function handLoop(U) {
  const b = [];
  const push = (v) => { if (v === 0) { b.push(OP.PUSH0); return; } const h = v.toString(16).padStart(v > 255 ? 4 : 2, "0"); b.push(0x5f + h.length / 2, ...h.match(/../g).map((x) => parseInt(x, 16))); };
  const dup = (n) => b.push(0x7f + n), swap = (n) => b.push(0x8f + n);
  b.push(OP.PC); push(11); b.push(OP.ADD); for (let i = 0; i < 7; i++) b.push(OP.PUSH0);
  if (b.length !== 11) throw new Error("label");
  b.push(OP.JUMPDEST);
  // The accumulator on top += v · calldata[wp + off].
  const acc = (off) => { if (off) { push(off); dup(12); b.push(OP.ADD); } else dup(11); b.push(OP.MLOAD); dup(8); b.push(OP.MUL, OP.ADD); };
  for (let u = 0; u < U; u++) {
    if (u) { push(32 * u); dup(10); b.push(OP.ADD); } else dup(9);
    b.push(OP.MLOAD); swap(7); b.push(OP.POP);
    // Even words c0, c1, …, c5 (SWAP1 … SWAP5 leave c5 c0 c1 c2 c3 c4), odd words back.
    const order = u % 2 ? [5, 4, 3, 2, 1, 0] : [0, 1, 2, 3, 4, 5];
    order.forEach((k, i) => { if (i) swap(u % 2 ? k + 1 : k); acc(192 * u + 32 * k); });
  }
  push(32 * U); dup(10); b.push(OP.ADD); swap(9); b.push(OP.POP);
  push(192 * U); dup(12); b.push(OP.ADD); swap(11); b.push(OP.POP);
  dup(10); dup(10); b.push(OP.LT); dup(9); b.push(OP.JUMPI);
  for (let i = 0; i < 5; i++) { swap(6); b.push(OP.POP); }
  return Buffer.from(b).toString("hex");
}
function yulKernel(U) {
  const sol = readFileSync(join(here, "ConvKernel.sol"), "utf8");
  let body = sol.slice(sol.indexOf("assembly {") + "assembly {".length, sol.lastIndexOf("}", sol.lastIndexOf("}", sol.lastIndexOf("}") - 1) - 1));
  const a = body.indexOf("// words:"), e = body.indexOf("// end words");
  body = body.slice(0, a) + `for {} and(sub(xe, xa), ${(U - 1) * 32}) {
                    xa := add(xa, 0x20)
                    wp := add(wp, 0xc0)
                } {
                    let v := mload(xa)
                    c0 := add(c0, mul(v, mload(wp)))
                    c1 := add(c1, mul(v, mload(add(wp, 0x20))))
                    c2 := add(c2, mul(v, mload(add(wp, 0x40))))
                    c3 := add(c3, mul(v, mload(add(wp, 0x60))))
                    c4 := add(c4, mul(v, mload(add(wp, 0x80))))
                    c5 := add(c5, mul(v, mload(add(wp, 0xa0))))
                }
                if lt(xa, xe) {
                    let d4, d3, d2, d1, d0, d5 := verbatim_3i_6o(hex"${handLoop(U)}", xa, xe, wp)
                    c0 := add(c0, d0)
                    c1 := add(c1, d1)
                    c2 := add(c2, d2)
                    c3 := add(c3, d3)
                    c4 := add(c4, d4)
                    c5 := add(c5, d5)
                }
` + body.slice(e);
  return `object "ConvKernel" { code { datacopy(0, dataoffset("runtime"), datasize("runtime")) return(0, datasize("runtime")) } object "runtime" { code {${body}} } }`;
}
function compileYul(src) {
  const input = { language: "Yul", sources: { "k.yul": { content: src } }, settings: { evmVersion: "cancun", optimizer: { enabled: true, runs: 200 }, outputSelection: { "k.yul": { "*": ["evm.bytecode.object", "evm.deployedBytecode.object"] } } } };
  const out = JSON.parse(solc.compile(JSON.stringify(input)));
  const errs = (out.errors || []).filter((e) => e.severity === "error");
  if (errs.length) { console.error(errs.map((e) => e.formattedMessage).join("\n")); anvil.kill(); process.exit(1); }
  return Object.values(out.contracts["k.yul"])[0].evm;
}
async function main() {
  const [acct] = await rpc("eth_accounts", []);
  const caller = await deploy(acct, compile("Caller.sol", "Caller", false).bytecode.object);
  const builds = [];
  for (const [label, viaIR] of [["via-IR", true], ["legacy", false]]) {
    const evm = compile("ConvKernel.sol", "ConvKernel", viaIR);
    builds.push({ label, addr: await deploy(acct, evm.bytecode.object), size: evm.deployedBytecode.object.length / 2 });
  }
  for (const U of [2, 4]) {
    const evm = compileYul(yulKernel(U));
    builds.push({ label: `hand ×${U}`, addr: await deploy(acct, evm.bytecode.object), size: evm.deployedBytecode.object.length / 2 });
  }
  for (const b of builds) console.log(`ConvKernel ${b.label}: ${b.size} bytes`);
  const cases = JSON.parse(process.argv[2] || "null") || [
    ["conv2 int8", [14, 14, 6, 16, 5, 5, 1, 1, 14, 14, 2, 2], 1],
    ["conv2 int16", [14, 14, 6, 16, 5, 5, 1, 1, 14, 14, 2, 2], 2],
    ["conv1 int8", [28, 28, 1, 6, 5, 5, 1, 1, 28, 28, 2, 2], 1],
    ["conv1 int16", [28, 28, 1, 6, 5, 5, 1, 1, 28, 28, 2, 2], 2],
    ["k3 int8, ow 11", [11, 11, 4, 8, 3, 3, 1, 1, 11, 11, 1, 1], 1],
    ["k3 int16, ow 13", [13, 13, 4, 8, 3, 3, 1, 1, 13, 13, 1, 1], 2],
  ];
  const ext = +(process.env.EXTREME || 0);
  for (const [name, g, width] of cases) {
    const [h, w, cin, f, kh, kw, , , oh, ow] = g;
    const e = shift(kh * kw * cin, width), E = BigInt(e);
    const inp = Array.from({ length: h * w * cin }, () => BigInt(ext ? 2 ** 32 : Math.round((rnd() * 2 - 1) * 2 ** 32)));
    const xn = inp.map((x) => (x + (1n << (E - 1n))) >> E);
    const qmax = width == 1 ? 127 : 32767;
    const q = Array.from({ length: kh * kw * cin * f }, () => (ext ? ext * qmax : Math.round((rnd() * 2 - 1) * qmax)));
    const scales = Array.from({ length: f }, () => BigInt(Math.round(rnd() * 2 ** 24) + 1));
    const bias = Array.from({ length: f }, () => BigInt(Math.round((rnd() * 2 - 1) * 2 ** 30)));
    const want = reference(xn, g, q, scales, bias, e);
    const outLen = oh * ow * f;
    for (const b of builds) for (const raw of [0, 1]) {
      const gas = {};
      let ok = "", p;
      for (const mode of [0, 1, 2, 3, 4]) {
        p = payload(mode, g, inp, xn, q, scales, bias, width, e, raw);
        const r = (await rpc("eth_call", [{ to: caller, data: "0x" + word(BigInt(b.addr)) + word(outLen) + p.hex, gas: "0x3b9aca00" }, "latest"])).slice(2);
        gas[mode] = Number(BigInt("0x" + r.slice(0, 64)));
        if (mode == 0) {
          let bad = 0; const n = (r.length - 64) / 64;
          for (let i = 0; i < want.length; i++) if (toSigned(r.slice(64 + 64 * i, 128 + 64 * i)) !== want[i]) bad++;
          ok = n === want.length && bad === 0 ? "EXACT" : `MISMATCH ${bad}/${want.length} len ${n}`;
        }
      }
      const dot = gas[0] - gas[1];
      console.log(`${name} ${b.label} ${raw ? "raw" : "packed"}: call ${gas[0]} ${ok} | dot ${dot} (${p.muls} MULs, ${(dot / p.muls).toFixed(1)} a MUL) | emit+ ${gas[1] - gas[4]} | ${raw ? "packing" : "copy in"} ${gas[4] - gas[2]} | overhead ${gas[2]} with ${outLen} outputs, ${gas[3]} without | calldata ${p.words} words`);
    }
  }
}
main().then(() => anvil.kill(), (e) => { console.error(e); anvil.kill(); process.exit(1); });
