#!/usr/bin/env node
// Compiles contracts/ with the solc-js pinned in tools/package.json and writes one
// artifacts/<Contract>.json per contract and interface:
//   {contractName, sourceName, abi, bytecode, deployedBytecode, compiler: {version, settings}}
// Output is deterministic (sources sorted, object keys sorted, 2-space JSON, trailing newline).
//
//   node scripts/build-contracts.mjs          write artifacts/
//   node scripts/build-contracts.mjs --check  exit 1, naming each differing file, if artifacts/
//                                             is not exactly what the sources compile to
//
// Needs `npm ci --prefix tools` first.
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { readFileSync, readdirSync, writeFileSync, mkdirSync, existsSync, unlinkSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const contractsDir = join(root, "contracts");
const artifactsDir = join(root, "artifacts");
const toolsDir = join(root, "tools");

// Compiler settings: the only place they are defined. Changing any of them changes every
// implementation's bytecode and therefore its CREATE2 address on every chain.
const SETTINGS = {
  evmVersion: "cancun",
  metadata: { appendCBOR: false, bytecodeHash: "none" },
  optimizer: { enabled: true, runs: 200 },
  viaIR: true,
};

function fail(message) {
  process.stderr.write(`build-contracts: ${message}\n`);
  process.exit(1);
}

function loadSolc() {
  const pinned = JSON.parse(readFileSync(join(toolsDir, "package.json"), "utf8")).dependencies.solc;
  let solc;
  try {
    solc = createRequire(join(toolsDir, "package.json"))("solc");
  } catch {
    fail(`solc-js ${pinned} is not installed; run \`npm ci --prefix tools\``);
  }
  const version = solc.version();
  if (!version.startsWith(`${pinned}+`)) {
    fail(`tools/node_modules has solc ${version}, tools/package.json pins ${pinned}; run \`npm ci --prefix tools\``);
  }
  return solc;
}

function solidityFiles(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...solidityFiles(path));
    else if (entry.name.endsWith(".sol")) out.push(path);
  }
  return out;
}

function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys(value[k])]));
  }
  return value;
}

/// ContractDefinition nodes of a source AST: name, kind, abstract.
function definitions(ast) {
  return (ast.nodes || [])
    .filter((n) => n.nodeType === "ContractDefinition")
    .map((n) => ({ name: n.name, kind: n.contractKind, abstract: Boolean(n.abstract) }));
}

function readSources() {
  const sources = {};
  for (const file of solidityFiles(contractsDir).sort()) {
    const name = relative(root, file).split(sep).join("/");
    sources[name] = { content: readFileSync(file, "utf8") };
  }
  return sources;
}

function run(solc, sources, outputSelection) {
  const input = { language: "Solidity", sources, settings: { ...SETTINGS, outputSelection } };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (output.errors || []).filter((e) => e.severity === "error");
  for (const e of output.errors || []) process.stderr.write(`${e.formattedMessage}\n`);
  if (errors.length > 0) fail(`${errors.length} compiler error(s)`);
  return output;
}

// The deployable contracts of each source: libraries are internal-only and abstract contracts
// are never deployed, so they get no artifact. Parsing and analysis only (no code generation).
function deployables(solc, sources) {
  const output = run(solc, sources, { "*": { "": ["ast"] } });
  const out = [];
  for (const sourceName of Object.keys(sources)) {
    for (const def of definitions(output.sources[sourceName].ast)) {
      if (def.kind === "library" || def.abstract) continue;
      out.push({ sourceName, name: def.name });
    }
  }
  return out;
}

// Code generation (viaIR) for `jobs` only: the expensive part, split across worker threads.
// A contract's bytecode does not depend on which others are selected with it.
function generate(solc, sources, jobs) {
  const selection = {};
  for (const { sourceName, name } of jobs) {
    (selection[sourceName] ||= {})[name] = ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"];
  }
  const output = run(solc, sources, selection);
  return jobs.map(({ sourceName, name }) => {
    const c = output.contracts[sourceName][name];
    return {
      contractName: name,
      sourceName,
      abi: sortKeys(c.abi),
      bytecode: `0x${c.evm.bytecode.object}`,
      deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
    };
  });
}

async function compile() {
  const solc = loadSolc();
  const sources = readSources();
  const jobs = deployables(solc, sources);
  const names = new Set();
  for (const { name } of jobs) {
    if (names.has(name)) fail(`two contracts named ${name}; artifact names must be unique`);
    names.add(name);
  }
  // Largest sources first, dealt to the least loaded worker.
  const workers = Math.max(1, Math.min(availableParallelism(), 4, jobs.length));
  const bins = Array.from({ length: workers }, () => ({ size: 0, jobs: [] }));
  const size = (j) => sources[j.sourceName].content.length;
  for (const job of [...jobs].sort((a, b) => size(b) - size(a))) {
    const bin = bins.reduce((a, b) => (b.size < a.size ? b : a));
    bin.size += size(job);
    bin.jobs.push(job);
  }
  const parts = await Promise.all(
    bins.map(
      (bin) =>
        new Promise((resolve, reject) => {
          const w = new Worker(fileURLToPath(import.meta.url), { workerData: { jobs: bin.jobs } });
          w.once("message", resolve);
          w.once("error", reject);
          w.once("exit", (code) => code !== 0 && reject(new Error(`a compiler worker exited with ${code}`)));
        }),
    ),
  );
  const compiler = { version: solc.version(), settings: sortKeys(SETTINGS) };
  const files = new Map();
  for (const c of parts.flat().sort((a, b) => a.contractName.localeCompare(b.contractName))) {
    const artifact = {
      contractName: c.contractName,
      sourceName: c.sourceName,
      abi: c.abi,
      bytecode: c.bytecode,
      deployedBytecode: c.deployedBytecode,
      compiler,
    };
    files.set(`${c.contractName}.json`, `${JSON.stringify(artifact, null, 2)}\n`);
  }
  return files;
}

if (!isMainThread) {
  parentPort.postMessage(generate(loadSolc(), readSources(), workerData.jobs));
}

if (isMainThread) {
  const check = process.argv.includes("--check");
  const files = await compile();
  const existing = existsSync(artifactsDir)
    ? readdirSync(artifactsDir).filter((f) => f.endsWith(".json")).sort()
    : [];

  if (check) {
    const problems = [];
    for (const [file, text] of [...files].sort()) {
      const path = join(artifactsDir, file);
      if (!existsSync(path)) problems.push(`artifacts/${file}: missing`);
      else if (readFileSync(path, "utf8") !== text) problems.push(`artifacts/${file}: differs from a fresh compile`);
    }
    for (const file of existing) {
      if (!files.has(file)) problems.push(`artifacts/${file}: no contract compiles to it (stale)`);
    }
    if (problems.length > 0) {
      for (const p of problems) process.stderr.write(`${p}\n`);
      fail("artifacts/ is out of date; run `node scripts/build-contracts.mjs` and commit the result");
    }
    process.stdout.write(`artifacts/ matches contracts/ (${files.size} artifacts)\n`);
  } else {
    mkdirSync(artifactsDir, { recursive: true });
    for (const file of existing) if (!files.has(file)) unlinkSync(join(artifactsDir, file));
    for (const [file, text] of files) writeFileSync(join(artifactsDir, file), text);
    process.stdout.write(`wrote ${files.size} artifacts to artifacts/\n`);
  }
}
