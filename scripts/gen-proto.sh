#!/usr/bin/env bash
# Regenerates src/proto/gen/ (committed) from the .proto files under src/proto/ with protoc + ts-proto.
# Dev-time only: needs protoc (Debian/Ubuntu: apt-get install -y protobuf-compiler). Run: npm run proto
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=src/proto
OUT=$ROOT/gen
PLUGIN=node_modules/.bin/protoc-gen-ts_proto

command -v protoc >/dev/null || { echo "protoc not found: apt-get install -y protobuf-compiler" >&2; exit 1; }
[ -x "$PLUGIN" ] || { echo "$PLUGIN not found: run npm install" >&2; exit 1; }

# Why each option: see src/proto/README.md.
OPTS=(
  forceLong=bigint
  esModuleInterop=true
  importSuffix=.js
  outputServices=grpc-js
  env=node
  useOptionals=messages
  oneof=unions-value
  unrecognizedEnum=false
  useExactTypes=false
  snakeToCamel=keys
  protoJsonFormat=false
  exportCommonSymbols=false
)
OPT_STR=$(IFS=,; echo "${OPTS[*]}")

rm -rf "$OUT"
mkdir -p "$OUT"
mapfile -t PROTOS < <(cd "$ROOT" && find etcd grpc -name '*.proto' | LC_ALL=C sort)
protoc \
  --plugin=protoc-gen-ts_proto="$PLUGIN" \
  --ts_proto_out="$OUT" \
  --ts_proto_opt="$OPT_STR" \
  --proto_path="$ROOT" \
  "${PROTOS[@]}"
echo "generated $(find "$OUT" -name '*.ts' | wc -l) files in $OUT from ${#PROTOS[@]} protos (protoc $(protoc --version | cut -d' ' -f2))"
