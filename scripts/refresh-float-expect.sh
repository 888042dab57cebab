#!/usr/bin/env bash
# Regenerates crates/cairn-expfmt/tests/data/float/go_format.txt: the bits of a few thousand
# float64 values and what Go's strconv.FormatFloat(v, 'g', -1, 64) prints for each, which
# cairn_expfmt::write_float must reproduce byte for byte. Needs a Go toolchain (any version
# since 1.12; the output does not depend on it). The value list is seeded, so rerunning it
# gives the same file.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$repo_root/crates/cairn-expfmt/tests/data/float/go_format.txt"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cat >"$work/main.go" <<'EOF'
package main

import (
	"bufio"
	"fmt"
	"math"
	"math/rand"
	"os"
	"strconv"
)

func main() {
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	emit := func(v float64) {
		fmt.Fprintf(w, "%016x %s\n", math.Float64bits(v), strconv.FormatFloat(v, 'g', -1, 64))
	}
	both := func(v float64) { emit(v); emit(-v) }

	// Special values and the edges of the representable range.
	emit(math.NaN())
	emit(math.Float64frombits(0x7ff0000000000001)) // signalling NaN
	emit(math.Float64frombits(0xfff8000000000000)) // negative NaN
	both(math.Inf(1))
	both(0)
	both(math.MaxFloat64)
	both(math.SmallestNonzeroFloat64)
	both(math.Float64frombits(0x0010000000000000)) // smallest normal
	both(math.Float64frombits(0x000fffffffffffff)) // largest subnormal

	// Small integers and the text encoder's usual values.
	for i := 0; i <= 200; i++ {
		emit(float64(i))
	}
	for _, v := range []float64{-1, 0.5, 0.25, 0.1, 0.01, 0.05, 0.9, 0.99, 0.999, 2.5, 5, 10, 3.14,
		1.7957977344380403e+09, 1.5e9, 1700000000.123, 1e-9, 123456, 1234567, 999999, 999999.5} {
		both(v)
	}

	// Powers of ten and their float neighbours: where 'g' switches notation.
	for e := -325; e <= 309; e++ {
		p, err := strconv.ParseFloat("1e"+strconv.Itoa(e), 64)
		if err != nil && !math.IsInf(p, 0) {
			panic(err)
		}
		emit(p)
		emit(math.Nextafter(p, 0))
		emit(math.Nextafter(p, math.Inf(1)))
		if e >= -30 && e <= 30 {
			emit(-p)
			emit(p * 1.5)
			emit(p * 9.99)
		}
	}

	// Powers of two, including around 2^53 where integers stop being exact.
	for e := -1074; e <= 1023; e += 7 {
		emit(math.Ldexp(1, e))
	}
	for e := 50; e <= 70; e++ {
		p := math.Ldexp(1, e)
		both(p)
		both(p + 1)
		both(p - 1)
		both(math.Nextafter(p, math.Inf(1)))
		both(math.Nextafter(p, 0))
	}

	r := rand.New(rand.NewSource(20240601))
	// Random bit patterns: every exponent, every mantissa.
	for i := 0; i < 1500; i++ {
		emit(math.Float64frombits(r.Uint64()))
	}
	// Random values in the range samples usually have.
	for i := 0; i < 800; i++ {
		scale := math.Pow(10, float64(r.Intn(40)-15))
		emit(r.Float64() * scale)
	}
	// Random decimals with few digits, as people type them.
	for i := 0; i < 500; i++ {
		digits := r.Int63n(1000000)
		exp := r.Intn(50) - 25
		v, err := strconv.ParseFloat(strconv.FormatInt(digits, 10)+"e"+strconv.Itoa(exp), 64)
		if err != nil {
			panic(err)
		}
		emit(v)
	}
	// Random integers of every size, many of them past 2^53.
	for i := 0; i < 500; i++ {
		emit(float64(r.Uint64() >> uint(r.Intn(64))))
	}
	// Unix timestamps in seconds with millisecond fractions, as OpenMetrics writes them.
	for i := 0; i < 200; i++ {
		ms := 1500000000000 + r.Int63n(500000000000)
		emit(float64(ms) / 1000)
	}
}
EOF

mkdir -p "$(dirname "$out")"
(cd "$work" && GO111MODULE=off go run main.go) >"$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $(wc -l <"$out") lines to $out"
