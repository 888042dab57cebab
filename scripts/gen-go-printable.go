// Writes crates/cairn-expfmt/src/text/parse/printable.rs: the non-ASCII code points that
// Go's strconv.IsPrint accepts, as ranges, so that the parser's error messages quote input
// exactly as the reference's %q does. Run it with the Go the reference is built with (Go
// 1.19, Unicode 13.0.0, for Debian's Pushgateway 1.5.1):
//
//	go run scripts/gen-go-printable.go > crates/cairn-expfmt/src/text/parse/printable.rs
package main

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

func main() {
	var bounds []string
	start := rune(-1)
	for r := rune(0x80); r <= utf8.MaxRune+1; r++ {
		printable := r <= utf8.MaxRune && strconv.IsPrint(r)
		if printable && start < 0 {
			start = r
		}
		if !printable && start >= 0 {
			bounds = append(bounds, fmt.Sprintf("0x%X, 0x%X,", start, r-1))
			start = -1
		}
	}
	fmt.Printf(`//! The code points from U+0080 on that Go's `+"`strconv.IsPrint`"+` accepts, as sorted inclusive
//! ranges (start, end, start, end, ...). Made by `+"`scripts/gen-go-printable.go`"+` with %s
//! (Unicode %s); do not edit.

pub(super) const PRINTABLE_RANGES: [u32; %d] = [
    %s
];
`, runtime.Version(), unicode.Version, 2*len(bounds), strings.Join(bounds, "\n    "))
}
