#!/usr/bin/env bash
# Regenerates Sources/RelBERTProtocol/Generated/*.pb.swift from proto/relbert/v1/*.proto with
# Debian's protoc and protoc-gen-swift built from the swift-protobuf package this project depends on.
# The generated code is committed: a normal build never runs protoc.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v protoc >/dev/null || { echo "protoc missing: apt-get install protobuf-compiler" >&2; exit 1; }
swift build -c release --product protoc-gen-swift
plugin="$(swift build -c release --show-bin-path)/protoc-gen-swift"
out=Sources/RelBERTProtocol/Generated
mkdir -p "$out"
rm -f "$out"/*.pb.swift
protoc --plugin=protoc-gen-swift="$plugin" \
    --swift_out="$out" --swift_opt=Visibility=Public --swift_opt=FileNaming=DropPath \
    -I proto proto/relbert/v1/*.proto
echo "generated: $(ls "$out")"
