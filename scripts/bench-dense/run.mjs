// node scripts/bench-dense/run.mjs ['[["name", n, units, width, rows, inscale], …]']
// Compiles DenseBench (DenseLayer's `_dense` on a kernel in calldata) with solc-js (the build's
// settings), runs each case on a fresh anvil with random stored integers (width 1/2 with
// per-column scales as int8/int16, 4 with an `up` shift as compact, 8 as exact) and Q32.32
// inputs in [-inscale, inscale], checks every output against a BigInt reference (the narrowing
// of int8/int16 included) and prints the gas of `_dense`. Env: SRC=DIR compiles DIR/contracts
// (another checkout, for before/after); PROFILE=1 prints the costliest program counters
// (TOP=n) and DUMP=FILE writes the runtime code to disassemble; SEED=k other random values.
import { writeFileSync } from "node:fs";
import { anvil as startAnvil, compile, deploy, toSigned, word } from "../bench-support.mjs";
const BENCH = "scripts/bench-dense/DenseBench.sol";
const c = compile(BENCH, "DenseBench", ["evm.bytecode.object", "evm.deployedBytecode.object", "evm.methodIdentifiers"]);
if (process.env.DUMP) writeFileSync(process.env.DUMP, JSON.stringify({ deployedBytecode: c.evm.deployedBytecode.object }));
const sel = c.evm.methodIdentifiers["bench(int256[],bytes,uint256,uint256,int256[],int256[],uint256,uint256)"];
const anvil = startAnvil(process.env.PORT || "18655");
const rpc = anvil.rpc;
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
  const addr = await deploy(rpc, c.evm.bytecode.object);
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
