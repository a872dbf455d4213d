#!/usr/bin/env bash
# Deployment benchmark of BENCHMARKS.md: fashion_mnist on fresh anvils. Run from the repo root after
# `cargo build --release` and `npm ci --prefix tools`. Usage: scripts/bench-deploy.sh "<anvil args>" RUNS
# usage: bench.sh "<anvil args>" runs
A=$PWD/tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
K=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
for i in $(seq 1 $2); do
  PORT=$((19000 + RANDOM % 1000))
  $A --port $PORT $1 >/dev/null 2>&1 &
  APID=$!
  sleep 1.5
  D=$(mktemp -d)
  S=$(date +%s.%N)
  OUT=$(ETERNALIZE_DATA_DIR=$D ETERNALIZE_PRIVATE_KEY=$K ./target/release/eternalize deploy tests/fixtures/eai_example/fashion_mnist.keras --rpc-url http://127.0.0.1:$PORT --yes --json 2>/dev/null | tail -1)
  E=$(date +%s.%N)
  BN=$(curl -s -X POST -H 'content-type: application/json' --data '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}' http://127.0.0.1:$PORT)
  echo "$OUT" | python3 -c "import json,sys; d=json.load(sys.stdin); print('engine %.3f s, tx %d, gas %d, blocks %s, rpc %d' % (d['seconds'], d['transactions'], d['gas_used'], d['blocks'], d['rpc_requests']), end='')"
  echo ", process $(python3 -c "print('%.3f'%($E-$S))") s"
  kill $APID; wait $APID 2>/dev/null; rm -rf $D
done
