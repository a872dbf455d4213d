// What scripts/bench-conv-kernel/run.mjs and scripts/bench-dense/run.mjs share: compiling a
// bench contract against contracts/ (of this checkout, or SRC=DIR's) with the build's settings,
// a fresh anvil with room for large calls and code, JSON-RPC, ABI words, and deploying.
import { createRequire } from "node:module";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { spawn } from "node:child_process";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..");
export const src = process.env.SRC || root;
const solc = createRequire(join(root, "tools/package.json"))("solc");

function files(dir) {
  const o = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) o.push(...files(p));
    else if (p.endsWith(".sol")) o.push(p);
  }
  return o;
}

/// Every source of `src`'s contracts/, by path relative to it.
export const sources = {};
for (const f of files(join(src, "contracts"))) sources[relative(src, f)] = { content: readFileSync(f, "utf8") };
/// What the bench contracts share (`benchRaw`), always this checkout's.
sources["scripts/BenchRaw.sol"] = { content: readFileSync(join(root, "scripts/BenchRaw.sol"), "utf8") };

/// scripts/build-contracts.mjs's settings.
export const settings = { evmVersion: "cancun", metadata: { appendCBOR: false, bytecodeHash: "none" }, optimizer: { enabled: true, runs: 200 }, viaIR: true };

/// Compiles `contract` of the source at `path` (added to `sources` from `file`, this checkout's
/// by default) for `outputs`; exits naming the errors.
export function compile(path, contract, outputs, file = join(root, path)) {
  if (file) sources[path] = { content: readFileSync(file, "utf8") };
  const t0 = Date.now();
  const input = { language: "Solidity", sources: { [path]: sources[path] }, settings: { ...settings, outputSelection: { [path]: { [contract]: outputs } } } };
  const findImports = (p) => {
    const k = p.replace(/^\.\//, "");
    return sources[k] ? { contents: sources[k].content } : { error: "nf " + p };
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  const errs = (out.errors || []).filter((e) => e.severity === "error");
  if (errs.length) {
    console.error(errs.map((e) => e.formattedMessage).join("\n"));
    process.exit(1);
  }
  const c = out.contracts[path][contract];
  if (c.evm.deployedBytecode) console.error(`compiled in ${(Date.now() - t0) / 1000}s, runtime ${c.evm.deployedBytecode.object.length / 2} bytes`);
  return c;
}

/// A fresh anvil on `port` (1G gas a block, code up to 100 kB) and JSON-RPC to it, retried
/// while it starts.
export function anvil(port) {
  const node = spawn(join(root, "tools/node_modules/.bin/anvil"), ["--port", port, "--gas-limit", "1000000000", "--code-size-limit", "100000"], { stdio: "ignore" });
  const url = `http://127.0.0.1:${port}`;
  let id = 0;
  async function rpc(method, params) {
    for (let i = 0; ; i++) {
      try {
        const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params }) });
        const j = await r.json();
        if (j.error) throw new Error(JSON.stringify(j.error));
        return j.result;
      } catch (e) {
        if (i > 50 || !String(e).includes("fetch failed")) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }
  return { rpc, kill: () => node.kill() };
}

/// Deploys `bytecode` (hex, no 0x) from anvil's first account; its address.
export async function deploy(rpc, bytecode) {
  const [acct] = await rpc("eth_accounts", []);
  const tx = await rpc("eth_sendTransaction", [{ from: acct, data: "0x" + bytecode, gas: "0x3000000" }]);
  let rc;
  for (;;) {
    rc = await rpc("eth_getTransactionReceipt", [tx]);
    if (rc) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (rc.status !== "0x1") throw new Error("deploy failed");
  return rc.contractAddress;
}

export const M = 1n << 256n;
/// A 32-byte ABI word (two's complement), hex.
export const word = (v) => ((BigInt(v) % M + M) % M).toString(16).padStart(64, "0");
/// A 32-byte hex word as a signed integer.
export const toSigned = (h) => {
  let v = BigInt("0x" + h);
  if (v >= 1n << 255n) v -= M;
  return v;
};
