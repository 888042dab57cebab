#!/usr/bin/env bash
# Regenerates crates/cairn-expfmt/tests/data/text/*.expected: what the reference's Go text
# parser (prometheus/common v0.39.0, the one Pushgateway 1.5.1 uses) gives for every input of
# the text parser tests, printed by goexpfmt (../shared/goexpfmt) as JSON lines, or as
# `error: ...`. The expected files come from the reference, never from cairn.
#
# Inputs, as tests/it/text_parse.rs lists them:
#   tests/data/text/NAME.prom                    -> tests/data/text/NAME.expected
#   ../shared/testdata/expfmt/corpus/FILE        -> tests/data/text/shared_corpus_FILE.expected
#   ../shared/testdata/expfmt/text               -> tests/data/text/shared_text.expected
#   ../shared/bench/data/mixed.prom              -> tests/data/text/shared_mixed.expected
#
# Builds goexpfmt into a temporary folder with Debian's Go and packaged prometheus/common
# (apt-get install -y golang-go golang-github-prometheus-common-dev), unless GOEXPFMT names
# an already built one. SHARED overrides where shared/ is (default: beside the workspace).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
shared="${SHARED:-$repo_root/../shared}"
data="$repo_root/crates/cairn-expfmt/tests/data/text"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

goexpfmt="${GOEXPFMT:-}"
if [[ -z "$goexpfmt" ]]; then
    cp "$shared/goexpfmt/main.go" "$work/"
    (cd "$work" && GO111MODULE=off GOPATH=/usr/share/gocode go build -o "$work/goexpfmt" .)
    goexpfmt="$work/goexpfmt"
fi

# goexpfmt exits 1 after printing a parse error, which is an answer like any other; any other
# failure (unreadable file, usage) stops the script.
expect() {
    local status=0
    "$goexpfmt" parse "$1" >"$2.tmp" || status=$?
    if [[ $status -gt 1 ]]; then
        echo "goexpfmt failed on $1 (exit $status)" >&2
        exit 1
    fi
    mv "$2.tmp" "$2"
}

count=0
for input in "$data"/*.prom; do
    expect "$input" "${input%.prom}.expected"
    count=$((count + 1))
done
for input in "$shared"/testdata/expfmt/corpus/*; do
    expect "$input" "$data/shared_corpus_$(basename "$input").expected"
    count=$((count + 1))
done
expect "$shared/testdata/expfmt/text" "$data/shared_text.expected"
expect "$shared/bench/data/mixed.prom" "$data/shared_mixed.expected"
count=$((count + 2))
echo "wrote $count expected files to $data"
