// gobatch parses many text format 0.0.4 bodies with the reference's parser
// (prometheus/common expfmt.TextParser) in one process, for cairn's differential fuzzer.
//
// Input on stdin: frames of a 4-byte little-endian length and that many bytes.
// Output on stdout: one line per frame, in the same order, in the canonical form that
// tests/difffuzz/src/canonical.rs writes for cairn's parser:
//
//	E <line> <message>                         rejected
//	P <message>                                the parser panicked
//	A                                          accepted, then per family (sorted by name):
//	  |F <name> <help or -> <TYPE>             and per series, in the parser's order:
//	  |M <labels sorted by name> <timestamp or -> <value>
//
// Strings are escaped byte by byte: printable ASCII other than `\`, `"`, space and `|`
// stays, every other byte is \xHH. Floats are the 16 hex digits of their IEEE bits, or NaN.
//
// Build it with Debian's Go and packaged prometheus/common (no network needed):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o DIR/gobatch .
package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

func escape(w *bufio.Writer, s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c > ' ' && c < 0x7f && c != '\\' && c != '"' && c != '|' {
			w.WriteByte(c)
		} else {
			fmt.Fprintf(w, "\\x%02x", c)
		}
	}
}

func float(w *bufio.Writer, v float64) {
	if math.IsNaN(v) {
		w.WriteString("NaN")
		return
	}
	fmt.Fprintf(w, "%016x", math.Float64bits(v))
}

func metric(w *bufio.Writer, m *dto.Metric) {
	w.WriteString("|M {")
	labels := append([]*dto.LabelPair(nil), m.Label...)
	sort.SliceStable(labels, func(i, j int) bool { return labels[i].GetName() < labels[j].GetName() })
	for i, l := range labels {
		if i > 0 {
			w.WriteByte(',')
		}
		escape(w, l.GetName())
		w.WriteByte('=')
		escape(w, l.GetValue())
	}
	w.WriteString("} ")
	if m.TimestampMs != nil {
		w.WriteString(strconv.FormatInt(*m.TimestampMs, 10))
	} else {
		w.WriteByte('-')
	}
	w.WriteByte(' ')
	switch {
	case m.Counter != nil:
		w.WriteString("C ")
		float(w, m.Counter.GetValue())
	case m.Gauge != nil:
		w.WriteString("G ")
		float(w, m.Gauge.GetValue())
	case m.Untyped != nil:
		w.WriteString("U ")
		float(w, m.Untyped.GetValue())
	case m.Summary != nil:
		fmt.Fprintf(w, "S %d ", m.Summary.GetSampleCount())
		float(w, m.Summary.GetSampleSum())
		for _, q := range m.Summary.Quantile {
			w.WriteByte(' ')
			float(w, q.GetQuantile())
			w.WriteByte(':')
			float(w, q.GetValue())
		}
	case m.Histogram != nil:
		fmt.Fprintf(w, "H %d ", m.Histogram.GetSampleCount())
		float(w, m.Histogram.GetSampleSum())
		for _, b := range m.Histogram.Bucket {
			w.WriteByte(' ')
			float(w, b.GetUpperBound())
			fmt.Fprintf(w, ":%d", b.GetCumulativeCount())
		}
	default:
		w.WriteString("-")
	}
}

var lineError = regexp.MustCompile(`(?s)^text format parsing error in line (\d+): (.*)$`)

// parse writes the canonical line for one body; a panic in the parser becomes a P line.
func parse(w *bufio.Writer, body []byte) {
	var out bytes.Buffer
	ow := bufio.NewWriter(&out)
	defer func() {
		if r := recover(); r != nil {
			w.WriteString("P ")
			escape(w, fmt.Sprint(r))
			w.WriteByte('\n')
			return
		}
		ow.Flush()
		w.Write(out.Bytes())
	}()
	var p expfmt.TextParser
	families, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		if m := lineError.FindStringSubmatch(err.Error()); m != nil {
			fmt.Fprintf(ow, "E %s ", m[1])
			escape(ow, m[2])
		} else {
			ow.WriteString("E 0 ")
			escape(ow, err.Error())
		}
		ow.WriteByte('\n')
		return
	}
	names := make([]string, 0, len(families))
	for name := range families {
		names = append(names, name)
	}
	sort.Strings(names)
	ow.WriteByte('A')
	for _, name := range names {
		f := families[name]
		ow.WriteString("|F ")
		escape(ow, f.GetName())
		ow.WriteByte(' ')
		if f.Help != nil {
			ow.WriteByte('"')
			escape(ow, f.GetHelp())
		} else {
			ow.WriteByte('-')
		}
		ow.WriteByte(' ')
		ow.WriteString(f.GetType().String())
		for _, m := range f.Metric {
			metric(ow, m)
		}
	}
	ow.WriteByte('\n')
}

func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer w.Flush()
	var header [4]byte
	for {
		if _, err := io.ReadFull(in, header[:]); err != nil {
			if err == io.EOF {
				return
			}
			fmt.Fprintln(os.Stderr, "gobatch: reading a frame header:", err)
			os.Exit(2)
		}
		body := make([]byte, binary.LittleEndian.Uint32(header[:]))
		if _, err := io.ReadFull(in, body); err != nil {
			fmt.Fprintln(os.Stderr, "gobatch: reading a frame:", err)
			os.Exit(2)
		}
		parse(w, body)
		// The driver waits for each batch's answers: flush when no more input is buffered.
		if in.Buffered() == 0 {
			w.Flush()
		}
	}
}
