#!/usr/bin/env bash
# Differential fuzzing of cairn's text parser against the reference's (Go expfmt.TextParser):
# builds gobatch with Debian's Go and packaged prometheus/common, builds the driver in
# release mode, and runs it with the arguments given (--count N --seed S --workers W
# --out DIR; see tests/difffuzz/src/main.rs). Exits 1 on any undocumented disagreement.
#
#   tests/difffuzz/run.sh --count 1000000 --seed 1
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$repo_root/target}"
mkdir -p "$target"
(cd "$repo_root/tests/difffuzz/gobatch" &&
  GO111MODULE=off GOPATH=/usr/share/gocode go build -o "$target/gobatch" .)
cargo build --release --quiet --manifest-path "$repo_root/Cargo.toml" -p cairn-difffuzz
exec "$target/release/cairn-difffuzz" --gobatch "$target/gobatch" "$@"
