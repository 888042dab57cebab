#!/usr/bin/env bash
# Parser throughput on ../shared/bench/data/mixed.prom: cairn's text parser (criterion,
# benches/benches/parse.rs) and the reference's Go parser (goexpfmt bench), in the same run,
# alternating so that both see the same machine. Prints both figures and their ratio.
#
# Needs Debian's Go and packaged prometheus/common to build goexpfmt
# (apt-get install -y golang-go golang-github-prometheus-common-dev), unless GOEXPFMT names
# a built one. ROUNDS (default 3) sets how many times each side runs.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
shared="${SHARED:-$repo_root/../shared}"
body="$shared/bench/data/mixed.prom"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

goexpfmt="${GOEXPFMT:-}"
if [[ -z "$goexpfmt" ]]; then
    cp "$shared/goexpfmt/main.go" "$work/"
    (cd "$work" && GO111MODULE=off GOPATH=/usr/share/gocode go build -o "$work/goexpfmt" .)
    goexpfmt="$work/goexpfmt"
fi

cd "$repo_root"
cargo bench -p cairn-bench --bench parse --no-run >/dev/null 2>&1
for round in $(seq "${ROUNDS:-3}"); do
    go_mbs=$("$goexpfmt" bench "$body" 20 | sed -E 's/.*: ([0-9.]+) MB\/s.*/\1/')
    # criterion prints MiB/s; convert to MB/s to compare with goexpfmt.
    rust_mibs=$(cargo bench -p cairn-bench --bench parse -- --warm-up-time 1 --measurement-time 4 ', parse$' 2>/dev/null \
        | grep -A2 ', parse$' | grep thrpt | head -1 | sed -E 's/.*\[[0-9.]+ MiB\/s ([0-9.]+) MiB\/s.*/\1/')
    awk -v r="$round" -v go="$go_mbs" -v mib="$rust_mibs" 'BEGIN {
        mb = mib * 1.048576
        printf "round %d: cairn %.0f MB/s, go expfmt %.1f MB/s, ratio %.1fx\n", r, mb, go, mb / go
    }'
done
