// node scripts/bench-conv-host/run.mjs ['[["name", [h, w, cin, f, kh, kw, 1, 1, oh, ow, pt, pl], width], …]']
// Spike of branch `convhost`: polykernel's narrowed convolution kernel (`_convolvePoly`: Q = L −
// kw + 1 output pixels of kw taps a multiplication, six filters a block) hosted in its own
// contract (ConvKernel.sol, raw calldata), compiled (a) via-IR and (b) legacy codegen, both with
// the optimizer at 200 runs. For each stride-1 case: random Q32.32 inputs in [-1, 1] narrowed as
// the reference does, random int8/int16 weights and scales, packed here in JS (the input words,
// the kernel words, the terms: what ConvBase would pass), checked bit for bit against a BigInt
// reference, and the gas of one STATICCALL made by Caller.sol (cold address, the callee's memory,
// the RETURNDATACOPY): `call` the whole call, `dot` the dot loops alone (call − a call skipping
// them) and per multiplication, `emit+` the rest of the kernel, `overhead` a call returning the
// zero output at once and one returning nothing. EXTREME=1 or -1: every input +1 and every
// weight ±qmax (lane sums at their bound). PORT=n anvil's port (18646).
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
  if (errs.length) { console.error(errs.map((e) => e.formattedMessage).join("\n")); process.exit(1); }
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
// Everything ConvBase would pass: [mode, b, b·(kw−1), halves, Q, f, oh, ow, pt, h, kh, cin, hp, sh, xs, ws, terms] ++ xs ++ ws ++ terms.
function payload(mode, g, xn, q, scales, bias, width, e) {
  const [h, w, cin, f, kh, kw, , , oh, ow, pt, pl] = g;
  const L = width == 1 ? 8 : 6, b = width == 1 ? 32 : 42, B = BigInt(b);
  const Q = L - kw + 1, hp = oh - 1 + kh, groups = Math.ceil(ow / Q), blocks = Math.ceil(f / 6);
  const wp = ow - 1 + kw;
  const at = (y, x, ci) => { const iy = y - pt, ix = x - pl; return x < wp && iy >= 0 && ix >= 0 && iy < h && ix < w ? xn[(iy * w + ix) * cin + ci] : 0n; };
  const xs = [];
  for (let gi = 0; gi < groups; gi++) for (let y = 0; y < hp; y++) for (let ci = 0; ci < cin; ci++) {
    let v = 0n; for (let j = 0; j < L; j++) v += at(y, gi * Q + j, ci) << (B * BigInt(j)); xs.push(v);
  }
  const ws = [];
  for (let blk = 0; blk < blocks; blk++) for (let ky = 0; ky < kh; ky++) for (let ci = 0; ci < cin; ci++) for (let k = 0; k < 6; k++) {
    const fi = blk * 6 + k; let v = 0n;
    if (fi < f) for (let kx = 0; kx < kw; kx++) v += BigInt(q[((ky * kw + kx) * cin + ci) * f + fi]) << (B * BigInt(kw - 1 - kx));
    ws.push(v);
  }
  const terms = [];
  for (let fi = 0; fi < f + 5; fi++) {
    if (fi >= f) { terms.push(0n, 0n); continue; }
    const m = scales[fi] << BigInt(e);
    terms.push(m, (bias[fi] << 32n) - (m << (B - 1n)));
  }
  let halves = 0n; for (let l = 0; l < L; l++) halves |= 1n << (B * BigInt(l) + B - 1n);
  const head = 17;
  const hdr = [mode, b, b * (kw - 1), halves, Q, f, oh, ow, pt, h, kh, cin, hp, 1, head * 32, (head + xs.length) * 32, (head + xs.length + ws.length) * 32];
  let muls = 0;
  for (let oy = 0; oy < oh; oy++) { const ky0 = Math.max(pt - oy, 0); const ky1 = Math.max(Math.min(pt + h - oy, kh), ky0); muls += (ky1 - ky0) * cin * groups * blocks * 6; }
  return { hex: [...hdr, ...xs, ...ws, ...terms].map(word).join(""), words: hdr.length + xs.length + ws.length + terms.length, xsLen: xs.length, wsLen: ws.length, muls };
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
async function main() {
  const [acct] = await rpc("eth_accounts", []);
  const caller = await deploy(acct, compile("Caller.sol", "Caller", false).bytecode.object);
  const builds = [];
  for (const [label, viaIR] of [["via-IR", true], ["legacy", false]]) {
    const evm = compile("ConvKernel.sol", "ConvKernel", viaIR);
    builds.push({ label, addr: await deploy(acct, evm.bytecode.object), size: evm.deployedBytecode.object.length / 2 });
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
    for (const b of builds) {
      const gas = {};
      let ok = "";
      for (const mode of [0, 1, 2, 3]) {
        const p = payload(mode, g, xn, q, scales, bias, width, e);
        const r = (await rpc("eth_call", [{ to: caller, data: "0x" + word(BigInt(b.addr)) + word(outLen) + p.hex, gas: "0x3b9aca00" }, "latest"])).slice(2);
        gas[mode] = Number(BigInt("0x" + r.slice(0, 64)));
        gas.p = p;
        if (mode == 0) {
          let bad = 0; const n = (r.length - 64) / 64;
          for (let i = 0; i < want.length; i++) if (toSigned(r.slice(64 + 64 * i, 128 + 64 * i)) !== want[i]) bad++;
          ok = n === want.length && bad === 0 ? "EXACT" : `MISMATCH ${bad}/${want.length} len ${n}`;
        }
      }
      const dot = gas[0] - gas[1];
      console.log(`${name} ${b.label}: call ${gas[0]} ${ok} | dot ${dot} (${gas.p.muls} MULs, ${(dot / gas.p.muls).toFixed(1)} a MUL) | emit+ ${gas[1] - gas[2]} | overhead ${gas[2]} with ${outLen} outputs, ${gas[3]} without | calldata ${gas.p.words} words (xs ${gas.p.xsLen}, ws ${gas.p.wsLen})`);
    }
  }
}
main().then(() => anvil.kill(), (e) => { console.error(e); anvil.kill(); process.exit(1); });
