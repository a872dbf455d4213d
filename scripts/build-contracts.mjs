#!/usr/bin/env node
// Compiles contracts/ with the solc-js pinned in tools/package.json and writes one
// artifacts/<Contract>.json per contract and interface:
//   {contractName, sourceName, abi, bytecode, deployedBytecode, compiler: {version, settings}}
// Output is deterministic (sources sorted, object keys sorted, 2-space JSON, trailing newline).
//
// Multi-pass build, because the factory and the model vouch for our implementations by the hash of
// their creation code: (1) the layer implementations are compiled and hashed; (2) the model
// implementation is compiled against those hashes and hashed; (3) the factory is compiled against
// all of them. contracts/lib/Implementations.sol is generated between the passes (it is committed
// and, like artifacts/, checked by --check). Layers must not import it, and the model must not use
// its own hash (`Implementations.MODEL`): either would make the hashes a fixed point to chase.
// Before them, pass (0) compiles the shared contracts the layers call (`SHARED`:
// EternalActivations, the rare activations, and EternalConvKernel, the narrowed convolutions' dot
// loop) and writes each one's CREATE2 address (deployer 0x4e59…, salt 0) into its generated library
// (contracts/lib/ActivationsAddress.sol, contracts/lib/ConvKernelAddress.sol: committed, checked by
// --check like Implementations.sol), which the layers import. A shared contract must not use its
// own address (it would be a fixed point as well).
//
//   node scripts/build-contracts.mjs          write artifacts/, contracts/lib/Implementations.sol and
//                                             the shared contracts' address libraries
//   node scripts/build-contracts.mjs --check  exit 1, naming each differing file, if artifacts/,
//                                             Implementations.sol or an address library is not
//                                             what the sources compile to
//   --no-cache                                compile every contract, reading no cached output
//
// Compile cache: code generation is the expensive part (viaIR's optimizer in wasm, ≈ 300 CPU-s for
// every contract), and its output is a pure function of the compiler, the settings and the
// sources. Each contract's output is therefore kept under a key that hashes the solc version, the
// settings, every source's name and content, and the contract's name — any edit anywhere misses,
// because viaIR output can depend on AST ids that any source shifts. Entries are written (
// atomically) only from a compile this script ran. The directory is $ETERNALIZE_SOLC_CACHE, else
// $XDG_CACHE_HOME/eternalize/solc, else ~/.cache/eternalize/solc; ETERNALIZE_SOLC_CACHE=off or
// --no-cache disables it. A cold cache (a new machine, any source changed) compiles everything.
//
// Needs `npm ci --prefix tools` first.
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, writeFileSync, mkdirSync, existsSync, unlinkSync, renameSync } from "node:fs";
import { homedir } from "node:os";
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

// The compile cache's directory, or null when it is off.
function cacheDir() {
  if (process.argv.includes("--no-cache")) return null;
  const set = process.env.ETERNALIZE_SOLC_CACHE;
  if (set === "off") return null;
  if (set) return set;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "eternalize", "solc");
}

// The cache key of one contract's output: the compiler, the settings, every source, the contract.
function cacheKey(version, sources, { sourceName, name }) {
  const hash = createHash("sha256");
  hash.update(JSON.stringify({ version, settings: sortKeys(SETTINGS), sourceName, name }));
  for (const file of Object.keys(sources).sort()) {
    hash.update(`\0${file}\0${sources[file].content.length}\0`);
    hash.update(sources[file].content);
  }
  return hash.digest("hex");
}

function cacheRead(dir, key) {
  if (dir === null) return null;
  try {
    return JSON.parse(readFileSync(join(dir, `${key}.json`), "utf8"));
  } catch {
    return null;
  }
}

// Best effort: a cache that cannot be written costs time, never correctness.
function cacheWrite(dir, key, output) {
  if (dir === null) return;
  try {
    mkdirSync(dir, { recursive: true });
    const tmp = join(dir, `.${key}.${process.pid}.tmp`);
    writeFileSync(tmp, JSON.stringify(output));
    renameSync(tmp, join(dir, `${key}.json`));
  } catch {
    // read-only or full: compile next time as well
  }
}

const cacheStats = { hits: 0, total: 0 };

// `generate` for `jobs`, reusing the cached output of every contract whose inputs are unchanged.
async function generateCached(solc, sources, jobs) {
  const dir = cacheDir();
  const version = solc.version();
  const keyed = jobs.map((job) => ({ job, key: cacheKey(version, sources, job) }));
  const hits = new Map();
  for (const { job, key } of keyed) {
    const found = cacheRead(dir, key);
    if (found && found.contractName === job.name && found.sourceName === job.sourceName) hits.set(key, found);
  }
  const misses = keyed.filter(({ key }) => !hits.has(key));
  cacheStats.hits += keyed.length - misses.length;
  cacheStats.total += keyed.length;
  const compiled = await generateParallel(sources, misses.map(({ job }) => job));
  misses.forEach(({ key }, i) => {
    cacheWrite(dir, key, compiled[i]);
    hits.set(key, compiled[i]);
  });
  return keyed.map(({ key }) => hits.get(key));
}

// `generate` over worker threads: largest sources first, dealt to the least loaded worker.
// Returns the contracts in the order of `jobs`.
async function generateParallel(sources, jobs) {
  if (jobs.length === 0) return [];
  const workers = Math.max(1, Math.min(availableParallelism(), 4, jobs.length));
  const bins = Array.from({ length: workers }, () => ({ size: 0, jobs: [] }));
  const size = (j) => sources[j.sourceName].content.length;
  for (const job of [...jobs].sort((a, b) => size(b) - size(a))) {
    const bin = bins.reduce((a, b) => (b.size < a.size ? b : a));
    bin.size += size(job);
    bin.jobs.push(job);
  }
  const parts = await Promise.all(
    bins
      .filter((bin) => bin.jobs.length > 0)
      .map(
        (bin) =>
          new Promise((resolve, reject) => {
            const w = new Worker(fileURLToPath(import.meta.url), { workerData: { sources, jobs: bin.jobs } });
            w.once("message", resolve);
            w.once("error", reject);
            w.once("exit", (code) => code !== 0 && reject(new Error(`a compiler worker exited with ${code}`)));
          }),
      ),
  );
  const byKey = new Map(parts.flat().map((c) => [`${c.sourceName}:${c.contractName}`, c]));
  return jobs.map(({ sourceName, name }) => byKey.get(`${sourceName}:${name}`));
}

const IMPLEMENTATIONS = "contracts/lib/Implementations.sol";
// The shared contracts of pass 0: stateless, placed once per chain through the CREATE2 deployer,
// called by the layers at the address written into `file` (library `library`, constant `constant`).
const SHARED = [
  {
    name: "EternalActivations",
    file: "contracts/lib/ActivationsAddress.sol",
    library: "ActivationsAddress",
    constant: "ACTIVATIONS",
    what: "the rare activations, codes 7..19",
  },
  {
    name: "EternalConvKernel",
    file: "contracts/lib/ConvKernelAddress.sol",
    library: "ConvKernelAddress",
    constant: "CONV_KERNEL",
    what: "the narrowed convolutions' dot loop",
  },
];
// Arachnid's deterministic CREATE2 deployer (src/chain/bindings.rs `CREATE2_DEPLOYER`).
const CREATE2_DEPLOYER = "4e59b44847b379578588920ca78fbf26c0b4956c";
const MODEL = "EternalModel";
const FACTORY = "EternalFactory";
const IMPORTS_IMPLEMENTATIONS = /import[^;]*Implementations\.sol/;
const ZERO = `0x${"0".repeat(64)}`;

// keccak256 from js-sha3, which solc-js itself depends on (pinned by tools/package-lock.json).
function keccakHex(hex) {
  const { keccak256 } = createRequire(createRequire(join(toolsDir, "package.json")).resolve("solc"))("js-sha3");
  return `0x${keccak256(Buffer.from(hex.slice(2), "hex"))}`;
}

// The address CREATE2 gives `bytecode` sent to the deterministic deployer with salt 0, in EIP-55
// mixed case (solc takes no other spelling of an address literal).
function create2Address(bytecode) {
  const hex = keccakHex(`0xff${CREATE2_DEPLOYER}${"0".repeat(64)}${keccakHex(bytecode).slice(2)}`).slice(-40);
  const hash = keccakHex(`0x${Buffer.from(hex, "ascii").toString("hex")}`).slice(2);
  return `0x${[...hex].map((c, i) => (parseInt(hash[i], 16) >= 8 ? c.toUpperCase() : c)).join("")}`;
}

// The address library of `shared` (an entry of `SHARED`) for `address` (0x + 40 hex). The zero
// address is the placeholder pass 0 compiles against: same shape, so every source's AST ids are
// the same.
function addressSource({ name, library, constant, what }, address) {
  return `// SPDX-License-Identifier: MIT
// Generated by scripts/build-contracts.mjs from ${name.endsWith("s") ? `${name}'` : `${name}'s`} creation code: do not edit.
pragma solidity 0.8.30;

/// @title ${library}
/// @notice Where \`${name}\` (${what}) is on every chain with
///         the deterministic CREATE2 deployer: \`create2(0x4e59…, 0, keccak(bytecode))\`.
library ${library} {
    address internal constant ${constant} = ${address};
}
`;
}

// `source` without its comments: a doc comment may name what the code must not use.
function withoutComments(source) {
  return source.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
}

// Layer kind of each layer implementation: the `LayerKind` constant its `layerKind()` returns,
// numbered as contracts/lib/Types.sol numbers it.
function layerKinds(sources, layerJobs) {
  const types = sources["contracts/lib/Types.sol"].content;
  const library = types.slice(types.indexOf("library LayerKind"));
  const codes = new Map();
  for (const m of library.slice(0, library.indexOf("}")).matchAll(/uint16 internal constant (\w+) = (\d+);/g)) {
    codes.set(m[1], Number(m[2]));
  }
  const kinds = [];
  for (const job of layerJobs) {
    const m = /function layerKind\(\)[^{]*\{\s*return LayerKind\.(\w+);/.exec(sources[job.sourceName].content);
    if (!m || !codes.has(m[1])) fail(`${job.sourceName}: no \`layerKind()\` returning a LayerKind constant`);
    kinds.push({ ...job, constant: m[1], code: codes.get(m[1]) });
  }
  kinds.sort((a, b) => a.code - b.code);
  kinds.forEach((k, i) => {
    if (i > 0 && kinds[i - 1].code === k.code) fail(`layer kind ${k.code} is implemented twice: ${kinds[i - 1].name} and ${k.name}`);
  });
  return kinds;
}

// Whether the kinds are exactly 0..n-1: then a search leaf needs no equality check.
function contiguous(kinds) {
  return kinds.every((k, i) => k.code === i);
}

// A binary search over kinds [lo, hi) (sorted by code) returning the kind's hash: 5 comparisons
// for 26 kinds. Codes may have gaps (a kind reserved but not implemented): a leaf then checks
// its code and answers zero for a gap.
function kindSearch(kinds, lo, hi, indent, exact = contiguous(kinds)) {
  if (hi - lo === 1) {
    const k = kinds[lo];
    return exact
      ? `${indent}return ${k.constant};\n`
      : `${indent}return kind == ${k.code} ? ${k.constant} : bytes32(0);\n`;
  }
  const mid = (lo + hi) >> 1;
  return (
    `${indent}if (kind < ${kinds[mid].code}) {\n${kindSearch(kinds, lo, mid, `${indent}    `, exact)}` +
    `${indent}} else {\n${kindSearch(kinds, mid, hi, `${indent}    `, exact)}${indent}}\n`
  );
}

function implementationsSource(kinds, modelHash) {
  const constants = kinds
    .map((k) => `    /// @dev ${k.name}, kind ${k.code}.\n    bytes32 internal constant ${k.constant} = ${k.hash};\n`)
    .join("");
  return `// SPDX-License-Identifier: MIT
// Generated by scripts/build-contracts.mjs from the implementations' creation code: do not edit.
pragma solidity 0.8.30;

/// @title Implementations
/// @notice keccak256 of the creation code (the artifact's \`bytecode\`) of every implementation
///         eternalize deploys: the model and one per layer kind. The factory deploys nothing else
///         and clones nothing else; a model links only layers cloned from these.
/// @dev An implementation's address is \`CodeStore.predict(factory, 0, hash)\`. The model's
///      bytecode embeds the layer hashes, the factory's all of them, so the build compiles the
///      layers, then the model, then the factory.
library Implementations {
    /// @dev Number of layer kinds (\`LayerKind\` 0 .. LAYER_KINDS - 1).
    uint256 internal constant LAYER_KINDS = ${kinds.length === 0 ? 0 : kinds[kinds.length - 1].code + 1};
    /// @dev EternalModel.
    bytes32 internal constant MODEL = ${modelHash};
${constants}
    /// @notice The creation-code hash of the implementation of layer kind \`kind\`, or zero when
    ///         there is no such kind.
    function layer(uint256 kind) internal pure returns (bytes32) {
        if (kind >= LAYER_KINDS) return bytes32(0);
${kindSearch(kinds, 0, kinds.length, "        ")}    }

    /// @notice Whether \`hash\` is the creation-code hash of one of our implementations.
    /// @dev Walks \`layer\` instead of comparing with each constant again: the constants are then
    ///      in the code once (~200 gas of deployment per byte saved, against ~2k gas per call —
    ///      it runs once per implementation and chain).
    function isImplementation(bytes32 hash) internal pure returns (bool) {
        if (hash == MODEL) return true;
        for (uint256 kind; kind < LAYER_KINDS; ++kind) {
            if (layer(kind) == hash) return true;
        }
        return false;
    }
}
`;
}

async function compile() {
  const solc = loadSolc();
  const sources = readSources();
  const committed = sources[IMPLEMENTATIONS]?.content;
  const committedAddresses = SHARED.map((s) => sources[s.file]?.content);
  // Pass 0 and every analysis run against the placeholders (see `addressSource`).
  for (const s of SHARED) sources[s.file] = { content: addressSource(s, `0x${"0".repeat(40)}`) };
  if (committed === undefined) {
    // First build: a placeholder with zero hashes lets the importers be analysed.
    const rest = Object.fromEntries(Object.entries(sources).filter(([, v]) => !IMPORTS_IMPLEMENTATIONS.test(v.content)));
    const layers = deployables(solc, rest).filter((j) => j.sourceName.startsWith("contracts/layers/"));
    const zeros = layerKinds(sources, layers).map((k) => ({ ...k, hash: ZERO }));
    sources[IMPLEMENTATIONS] = { content: implementationsSource(zeros, ZERO) };
  }
  const jobs = deployables(solc, sources);
  const names = new Set();
  for (const { name } of jobs) {
    if (names.has(name)) fail(`two contracts named ${name}; artifact names must be unique`);
    names.add(name);
  }
  for (const [name, { content }] of Object.entries(sources)) {
    if (name.startsWith("contracts/layers/") && IMPORTS_IMPLEMENTATIONS.test(content)) {
      fail(`${name} uses Implementations.sol; layer implementations must not (their hashes are in it)`);
    }
  }
  if (/Implementations\.MODEL\b/.test(sources[`contracts/${MODEL}.sol`].content)) {
    fail(`contracts/${MODEL}.sol uses its own hash (Implementations.MODEL)`);
  }
  const layerJobs = jobs.filter((j) => j.sourceName.startsWith("contracts/layers/"));
  const modelJob = jobs.filter((j) => j.name === MODEL);
  const factoryJob = jobs.filter((j) => j.name === FACTORY);
  if (modelJob.length !== 1 || factoryJob.length !== 1) fail(`need exactly one ${MODEL} and one ${FACTORY}`);
  const sharedJobs = SHARED.map((s) => {
    const found = jobs.filter((j) => j.name === s.name);
    if (found.length !== 1) fail(`need exactly one ${s.name}`);
    const code = withoutComments(sources[found[0].sourceName].content);
    if (new RegExp(`${s.library}\\.${s.constant}\\b`).test(code)) {
      fail(`${found[0].sourceName} uses its own address (${s.library}.${s.constant})`);
    }
    return found[0];
  });
  const rest = jobs.filter(
    (j) => !layerJobs.includes(j) && !modelJob.includes(j) && !factoryJob.includes(j) && !sharedJobs.includes(j),
  );

  // Pass 0: the shared contracts, against the placeholder addresses and the zero
  // Implementations.sol (the shapes every later pass sees); the real addresses for everything
  // after it.
  const zeros = layerKinds(sources, layerJobs).map((k) => ({ ...k, hash: ZERO }));
  sources[IMPLEMENTATIONS] = { content: implementationsSource(zeros, ZERO) };
  const shared = await generateCached(solc, sources, sharedJobs);
  const generatedAddresses = SHARED.map((s, i) => addressSource(s, create2Address(shared[i].bytecode)));
  SHARED.forEach((s, i) => {
    sources[s.file] = { content: generatedAddresses[i] };
  });

  // Pass 1: the layers (and the interfaces, which need no hash). Implementations.sol is a zero
  // placeholder of its final shape: its values cannot reach a layer's bytecode, but its node
  // count shifts every later source's AST ids, which viaIR code generation can depend on — so
  // the layers compile against the same shape in every build, whatever the committed file holds.
  const first = await generateCached(solc, sources, [...layerJobs, ...rest]);
  const byName = new Map(first.map((c) => [c.contractName, c]));
  const kinds = zeros.map((k) => ({ ...k, hash: keccakHex(byName.get(k.name).bytecode) }));
  // Pass 2: the model, against the layers' hashes.
  sources[IMPLEMENTATIONS] = { content: implementationsSource(kinds, ZERO) };
  const [model] = await generateCached(solc, sources, modelJob);
  // Pass 3: the factory, against every hash.
  const generated = implementationsSource(kinds, keccakHex(model.bytecode));
  sources[IMPLEMENTATIONS] = { content: generated };
  const [factory] = await generateCached(solc, sources, factoryJob);

  const compiler = { version: solc.version(), settings: sortKeys(SETTINGS) };
  const dir = cacheDir();
  const cacheNote =
    dir === null
      ? "compile cache off"
      : `${cacheStats.hits} of ${cacheStats.total} contracts from the compile cache ${dir}`;
  const files = new Map();
  for (const c of [...shared, ...first, model, factory].sort((a, b) => a.contractName.localeCompare(b.contractName))) {
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
  return { files, generated, committed, generatedAddresses, committedAddresses, cacheNote };
}

if (!isMainThread) {
  parentPort.postMessage(generate(loadSolc(), workerData.sources, workerData.jobs));
}

if (isMainThread) {
  const check = process.argv.includes("--check");
  const { files, generated, committed, generatedAddresses, committedAddresses, cacheNote } = await compile();
  const existing = existsSync(artifactsDir)
    ? readdirSync(artifactsDir).filter((f) => f.endsWith(".json")).sort()
    : [];

  if (check) {
    const problems = [];
    if (committed !== generated) problems.push(`${IMPLEMENTATIONS}: differs from the implementations' hashes`);
    SHARED.forEach((s, i) => {
      if (committedAddresses[i] !== generatedAddresses[i]) problems.push(`${s.file}: differs from ${s.name}' CREATE2 address`);
    });
    for (const [file, text] of [...files].sort()) {
      const path = join(artifactsDir, file);
      if (!existsSync(path)) problems.push(`artifacts/${file}: missing`);
      else if (readFileSync(path, "utf8") !== text) problems.push(`artifacts/${file}: differs from what contracts/ compiles to`);
    }
    for (const file of existing) {
      if (!files.has(file)) problems.push(`artifacts/${file}: no contract compiles to it (stale)`);
    }
    if (problems.length > 0) {
      for (const p of problems) process.stderr.write(`${p}\n`);
      fail("artifacts/, Implementations.sol or an address library is out of date; run `node scripts/build-contracts.mjs` and commit the result");
    }
    process.stdout.write(`artifacts/ matches contracts/ (${files.size} artifacts; ${cacheNote})\n`);
  } else {
    writeFileSync(join(root, IMPLEMENTATIONS), generated);
    SHARED.forEach((s, i) => writeFileSync(join(root, s.file), generatedAddresses[i]));
    mkdirSync(artifactsDir, { recursive: true });
    for (const file of existing) if (!files.has(file)) unlinkSync(join(artifactsDir, file));
    for (const [file, text] of files) writeFileSync(join(artifactsDir, file), text);
    process.stdout.write(`wrote ${files.size} artifacts to artifacts/ (${cacheNote})\n`);
  }
}
