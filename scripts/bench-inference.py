#!/usr/bin/env python3
"""Inference benchmark of BENCHMARKS.md: for every fixture model with Keras predictions, deploy it
to a fresh anvil that enforces the 2^24 per-transaction cap (EIP-7825) and run its first sample
three ways through the CLI: one `predict` call (gas by `eth_estimateGas`, when it fits), chained
calls (`predict ADDRESS --json`: calls, largest, sum) and an on-chain job (`predict ADDRESS --send
--json`: transactions, largest, gas used). Prints one Markdown table row per model.

Run from the repo root after `cargo build` (or `--release`) and `npm ci --ignore-scripts --prefix
tools`:

    python3 scripts/bench-inference.py [--bin target/release/eternalize] [FIXTURE ...]

Standard library only. Each model gets its own anvil and data folder; nothing is left behind.
"""

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
# anvil's first dev account (a public test key, never a real one).
DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
FOLDERS = ["eai_example", "keras2_15", "keras3_4", "keras3_15", "generated"]


def anvil_binary() -> Path:
    machine = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}[platform.machine()]
    system = {"Linux": "linux", "Darwin": "darwin"}[platform.system()]
    path = ROOT / f"tools/node_modules/@foundry-rs/anvil-{system}-{machine}/bin/anvil"
    if not path.exists():
        sys.exit(f"{path} is missing: run `npm ci --ignore-scripts --prefix tools`")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rpc(url: str, method: str, params: list) -> dict:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    req = urllib.request.Request(url, body, {"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.load(r)


def models(selected: list) -> list:
    if selected:
        return [Path(p).resolve() for p in selected]
    out = []
    for folder in FOLDERS:
        for path in sorted((FIXTURES / folder).glob("*")):
            if path.suffix not in (".keras", ".h5"):
                continue
            truth = Path(f"{path}.truth.json")
            if truth.exists() and json.loads(truth.read_text()).get("predict"):
                out.append(path)
    return out


def first_sample(model: Path, into: Path) -> Path:
    """Sample 0 of the fixture's Keras predictions as the CLI's JSON input."""
    truth = Path(f"{model}.truth.json")
    if not truth.exists():  # eai's fashion_mnist: its own sample file
        return model.parent / "fashion_mnist_input.npy"
    t = json.loads(truth.read_text())
    inputs = t["predict"]["inputs"]
    if len(inputs) == 1:
        value = inputs[0]["data"][0]
    else:
        value = {i["name"]: x["data"][0] for i, x in zip(t["model_inputs"], inputs)}
    into.write_text(json.dumps(value))
    return into


def cli(binary: str, args: list, env: dict) -> dict:
    r = subprocess.run([binary, *args], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError((r.stderr or r.stdout).strip().splitlines()[-1])
    return json.loads(r.stdout.strip().splitlines()[-1])


def bench(binary: str, model: Path, anvil: Path) -> str:
    name = model.relative_to(FIXTURES)
    port = free_port()
    node = subprocess.Popen(
        [str(anvil), "--port", str(port), "--enable-tx-gas-limit", "--silent"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    data = Path(tempfile.mkdtemp(prefix="bench-inference-"))
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "ETERNALIZE_DATA_DIR": str(data), "ETERNALIZE_PRIVATE_KEY": DEV_KEY}
    try:
        for _ in range(100):
            try:
                rpc(url, "eth_chainId", [])
                break
            except OSError:
                time.sleep(0.1)
        deployed = cli(binary, ["deploy", str(model), "--rpc-url", url, "--yes", "--json"], env)
        address = deployed["model_address"]
        sample = first_sample(model, data / "sample.json")
        base = ["predict", address, "--input", str(sample), "--rpc-url", url, "--json"]
        chained = cli(binary, base, env)
        try:
            job = cli(binary, [*base, "--send", "--yes"], env)
            job_cols = f"{job['transactions']} | {job['largest_gas_used']:,} | {job['gas_used']:,}"
        except RuntimeError as e:
            job_cols = f"refused: {e} | |"
        gas = chained["gas"]
        one = f"{gas['sum']:,}" if chained["calls"] == 1 else "–"
        return (
            f"| {name} | {one} | {chained['calls']} | {gas['largest']:,} | {gas['sum']:,} | {job_cols} |"
        )
    except RuntimeError as e:
        return f"| {name} | failed: {e} | | | | | | |"
    finally:
        node.terminate()
        node.wait()
        shutil.rmtree(data, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default=str(ROOT / "target/debug/eternalize"))
    ap.add_argument("fixtures", nargs="*")
    args = ap.parse_args()
    anvil = anvil_binary()
    print("| model | one call | chained calls | largest | total | job tx | largest | total |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for model in models(args.fixtures):
        print(bench(args.bin, model, anvil), flush=True)


if __name__ == "__main__":
    main()
