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

function compile(solc) {
  const sources = {};
  for (const file of solidityFiles(contractsDir).sort()) {
    const name = relative(root, file).split(sep).join("/");
    sources[name] = { content: readFileSync(file, "utf8") };
  }
  const input = {
    language: "Solidity",
    sources,
    settings: {
      ...SETTINGS,
      outputSelection: {
        "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"], "": ["ast"] },
      },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (output.errors || []).filter((e) => e.severity === "error");
  for (const e of output.errors || []) process.stderr.write(`${e.formattedMessage}\n`);
  if (errors.length > 0) fail(`${errors.length} compiler error(s)`);

  const compiler = { version: solc.version(), settings: sortKeys(SETTINGS) };
  const files = new Map();
  for (const sourceName of Object.keys(sources)) {
    for (const def of definitions(output.sources[sourceName].ast)) {
      // Libraries are internal-only and abstract contracts are never deployed: no artifact.
      if (def.kind === "library" || def.abstract) continue;
      const c = output.contracts[sourceName][def.name];
      const file = `${def.name}.json`;
      if (files.has(file)) fail(`two contracts named ${def.name}; artifact names must be unique`);
      const artifact = {
        contractName: def.name,
        sourceName,
        abi: sortKeys(c.abi),
        bytecode: `0x${c.evm.bytecode.object}`,
        deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
        compiler,
      };
      files.set(file, `${JSON.stringify(artifact, null, 2)}\n`);
    }
  }
  return files;
}

const check = process.argv.includes("--check");
const files = compile(loadSolc());
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
