// node scripts/bench-dense/run.mjs ['[["name", n, units, width, rows, inscale], …]']
// Compiles DenseBench (DenseLayer's `_dense` on a kernel in calldata) with solc-js (the build's
// settings), runs each case on a fresh anvil with random stored integers (width 1/2 with
// per-column scales as int8/int16, 4 with an `up` shift as compact, 8 as exact) and Q32.32
// inputs in [-inscale, inscale], checks every output against a BigInt reference (the narrowing
// of int8/int16 included) and prints the gas of `_dense`. Env: SRC=DIR compiles DIR/contracts
// (another checkout, for before/after); PROFILE=1 prints the costliest program counters
// (TOP=n) and DUMP=FILE writes the runtime code to disassemble; SEED=k other random values.
import { createRequire } from "node:module";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { spawn } from "node:child_process";
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const src = process.env.SRC || root;
const solc = createRequire(join(root, "tools/package.json"))("solc");
function files(dir) { const o = []; for (const e of readdirSync(dir, { withFileTypes: true })) { const p = join(dir, e.name); if (e.isDirectory()) o.push(...files(p)); else if (p.endsWith(".sol")) o.push(p); } return o; }
const sources = {};
for (const f of files(join(src, "contracts"))) sources[relative(src, f)] = { content: readFileSync(f, "utf8") };
const BENCH = "scripts/bench-dense/DenseBench.sol";
sources[BENCH] = { content: readFileSync(join(root, BENCH), "utf8") };
function findImports(p) { const k = p.replace(/^\.\//, ""); if (sources[k]) return { contents: sources[k].content }; return { error: "nf " + p }; }
const t0 = Date.now();
const settings = { evmVersion: "cancun", metadata: { appendCBOR: false, bytecodeHash: "none" }, optimizer: { enabled: true, runs: 200 }, viaIR: true };
const input = { language: "Solidity", sources: { [BENCH]: sources[BENCH] }, settings: { ...settings, outputSelection: { [BENCH]: { DenseBench: ["evm.bytecode.object", "evm.deployedBytecode.object", "evm.methodIdentifiers"] } } } };
const out = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errs = (out.errors || []).filter((e) => e.severity === "error");
if (errs.length) { console.error(errs.map((e) => e.formattedMessage).join("\n")); process.exit(1); }
const c = out.contracts[BENCH].DenseBench;
if (process.env.DUMP) writeFileSync(process.env.DUMP, JSON.stringify({ deployedBytecode: c.evm.deployedBytecode.object }));
console.error(`compiled in ${(Date.now() - t0) / 1000}s, runtime ${c.evm.deployedBytecode.object.length / 2} bytes`);
const sel = c.evm.methodIdentifiers["bench(int256[],bytes,uint256,uint256,int256[],int256[],uint256,uint256)"];
const port = process.env.PORT || "18655";
const anvil = spawn(join(root, "tools/node_modules/.bin/anvil"), ["--port", port, "--gas-limit", "1000000000", "--code-size-limit", "100000"], { stdio: "ignore" });
const url = `http://127.0.0.1:${port}`;
let id = 0;
async function rpc(method, params) { for (let i = 0; ; i++) { try { const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params }) }); const j = await r.json(); if (j.error) throw new Error(JSON.stringify(j.error)); return j.result; } catch (e) { if (i > 50 || !String(e).includes("fetch failed")) throw e; await new Promise((r) => setTimeout(r, 200)); } } }
const M = 1n << 256n;
const word = (v) => ((BigInt(v) % M + M) % M).toString(16).padStart(64, "0");
function encode(inputs, kernelHex, width, up, scales, bias, n, units) {
  const headWords = 8;
  const head = [];
  let tail = "";
  const off = () => word(headWords * 32 + tail.length / 2);
  const arr = (a) => word(a.length) + a.map(word).join("");
  head.push(off()); tail += arr(inputs);
  head.push(off()); tail += word(kernelHex.length / 2) + kernelHex + "0".repeat((64 - (kernelHex.length % 64)) % 64);
  head.push(word(width), word(up));
  head.push(off()); tail += arr(scales);
  head.push(off()); tail += arr(bias);
  head.push(word(n), word(units));
  return head.join("") + tail;
}
const toSigned = (h) => { let v = BigInt("0x" + h); if (v >= 1n << 255n) v -= M; return v; };
let seed = +(process.env.SEED || 12345);
const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff; };
// quant::input_shift (Sums::Units) and quant::narrow (as x', before the << e).
function shift(n, width) { let b = 0; for (let t = n - 1; t > 0; t >>= 1) b++; return width == 1 ? b + 8 : width == 2 ? b : 0; }
function reference(x, q, n, units, width, up, scales, bias) {
  const e = BigInt(shift(n, width));
  const rows = x.length / n;
  const o = [];
  for (let r = 0; r < rows; r++) {
    const xr = x.slice(r * n, r * n + n).map((v) => (e == 0n ? v : (v + (1n << (e - 1n))) >> e));
    for (let j = 0; j < units; j++) {
      let s = 0n;
      for (let i = 0; i < n; i++) s += xr[i] * BigInt(q[i * units + j]);
      const acc = scales.length ? (s * scales[j]) << e : s << BigInt(up);
      o.push((acc + (bias.length ? bias[j] << 32n : 0n)) >> 32n);
    }
  }
  return o;
}
async function main() {
  const [acct] = await rpc("eth_accounts", []);
  const tx = await rpc("eth_sendTransaction", [{ from: acct, data: "0x" + c.evm.bytecode.object, gas: "0x3000000" }]);
  let rc; for (;;) { rc = await rpc("eth_getTransactionReceipt", [tx]); if (rc) break; await new Promise((r) => setTimeout(r, 100)); }
  if (rc.status !== "0x1") throw new Error("deploy failed");
  const addr = rc.contractAddress;
  const cases = JSON.parse(process.argv[2] || "null") || [
    ["784x70 int8", 784, 70, 1, 1, 1],
    ["70x10 int8", 70, 10, 1, 1, 1],
    ["784x70 int16", 784, 70, 2, 1, 1],
    ["70x10 int16", 70, 10, 2, 1, 1],
    ["784x70 compact", 784, 70, 4, 1, 1],
    ["784x70 exact", 784, 70, 8, 1, 1],
  ];
  let bad = 0;
  for (const [name, n, units, width, rows, inscale] of cases) {
    // inscale "max": every |x| = 1 (the lanes' bound); otherwise uniform in [-inscale, inscale].
    const x = Array.from({ length: n * rows }, () => inscale === "max" ? (rnd() < 0.5 ? -1n : 1n) << 32n : BigInt(Math.round((rnd() * 2 - 1) * 2 ** 32 * inscale)));
    const qmax = width == 1 ? 127 : width == 2 ? 32767 : width == 4 ? 2 ** 30 : 2 ** 40;
    const qmin = -qmax - (process.env.QMIN ? 1 : 0);
    const q = Array.from({ length: n * units }, () => (process.env.QEXT ? (rnd() < 0.5 ? qmin : qmax) : Math.round(qmin + rnd() * (qmax - qmin))));
    const kernelHex = q.map((v) => ((BigInt(v) + (1n << BigInt(8 * width))) % (1n << BigInt(8 * width))).toString(16).padStart(2 * width, "0")).join("");
    const scales = width <= 2 ? Array.from({ length: units }, () => BigInt(Math.round(rnd() * 2 ** 24) + 1)) : [];
    const bias = Array.from({ length: units }, () => BigInt(Math.round((rnd() * 2 - 1) * 2 ** 30)));
    const up = width == 4 ? 12 : 0;
    const want = reference(x, q, n, units, width, up, scales, bias);
    const data = "0x" + sel + encode(x, kernelHex, width, up, scales, bias, n, units);
    if (process.env.PROFILE) {
      const t = await rpc("debug_traceCall", [{ to: addr, data, gas: "0x3b9aca00" }, "latest", { disableStack: true, disableMemory: true, disableStorage: true }]);
      const byPc = {}; const cnt = {};
      for (const l of t.structLogs) { if (l.depth !== 1) continue; byPc[l.pc] = (byPc[l.pc] || 0) + l.gasCost; cnt[l.pc] = (cnt[l.pc] || 0) + 1; }
      writeFileSync(process.env.PROFILE, JSON.stringify({ byPc, cnt }));
    }
    const r = await rpc("eth_call", [{ to: addr, data, gas: "0x3b9aca00" }, "latest"]);
    const hex = r.slice(2);
    const used = BigInt("0x" + hex.slice(0, 64));
    const len = Number(BigInt("0x" + hex.slice(128, 192)));
    const got = []; for (let i = 0; i < len; i++) got.push(toSigned(hex.slice(192 + 64 * i, 256 + 64 * i)));
    let wrong = 0; for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) wrong++;
    const ok = len === want.length && wrong === 0 ? "EXACT" : `MISMATCH ${wrong}/${want.length} len ${len}`;
    if (ok !== "EXACT") bad++;
    console.log(`${name.padEnd(24)} ${String(used).padStart(9)} gas ${ok}`);
  }
  if (bad) process.exitCode = 1;
}
main().then(() => anvil.kill(), (e) => { console.error(e); anvil.kill(); process.exit(1); });
