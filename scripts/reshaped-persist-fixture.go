// Writes a gob file shaped like the reference Pushgateway's persistence file as another
// version of it might write it: extra fields of several kinds, the known fields in another
// order, a family without payload (nil), a zero Timestamp (which gob omits) and a zone
// offset with seconds (time.Time's binary version 2). The payloads are protobuf
// io.prometheus.client.MetricFamily messages, built by hand below so that this program
// needs nothing but Go's standard library.
package main

import (
	"encoding/binary"
	"encoding/gob"
	"math"
	"os"
	"time"
)

type GobbableMetricFamily struct{ payload []byte }

func (f *GobbableMetricFamily) GobEncode() ([]byte, error) { return f.payload, nil }

type Note struct {
	Text  string
	Score float64
}

type TimestampedMetricFamily struct {
	Comment              string
	GobbableMetricFamily *GobbableMetricFamily
	Weights              []float64
	Timestamp            time.Time
	Flags                [2]bool
}

type MetricGroup struct {
	Metrics  map[string]TimestampedMetricFamily
	Revision uint64
	Notes    map[int]Note
	Labels   map[string]string
	Offset   int64
}

// Protobuf: field keys, length-delimited fields, doubles.
func key(field, wire int) []byte { return binary.AppendUvarint(nil, uint64(field<<3|wire)) }

func bytesField(field int, b []byte) []byte {
	out := append(key(field, 2), binary.AppendUvarint(nil, uint64(len(b)))...)
	return append(out, b...)
}

func doubleField(field int, v float64) []byte {
	return binary.LittleEndian.AppendUint64(key(field, 1), math.Float64bits(v))
}

// Metric.label (field 1): LabelPair { name 1, value 2 }.
func label(name, value string) []byte {
	return bytesField(1, append(bytesField(1, []byte(name)), bytesField(2, []byte(value))...))
}

// A gauge family with one series.
func gauge(name, help string, value float64, labels ...[]byte) *GobbableMetricFamily {
	b := bytesField(1, []byte(name))
	b = append(b, bytesField(2, []byte(help))...)
	b = append(b, append(key(3, 0), 1)...) // type GAUGE
	var metric []byte
	for _, l := range labels {
		metric = append(metric, l...)
	}
	metric = append(metric, bytesField(2, doubleField(1, value))...) // Metric.gauge { value }
	b = append(b, bytesField(4, metric)...)
	return &GobbableMetricFamily{b}
}

func main() {
	odd := time.FixedZone("odd", 3600+30)
	groups := map[string]MetricGroup{
		"job\xffreshaped": {
			Labels:   map[string]string{"job": "reshaped"},
			Revision: 300,
			Notes:    map[int]Note{-2: {Text: "n", Score: 0.5}},
			Offset:   -7,
			Metrics: map[string]TimestampedMetricFamily{
				"up": {
					Comment:              "kept",
					GobbableMetricFamily: gauge("up", "Whether it is up.", 1, label("instance", ""), label("job", "reshaped")),
					Weights:              []float64{1.5, -2},
					Timestamp:            time.Date(2024, 2, 29, 13, 14, 15, 123456789, odd),
					Flags:                [2]bool{true, false},
				},
				"gone": {Comment: "nil payload", Timestamp: time.Unix(1700000000, 0)},
				"early": {
					GobbableMetricFamily: gauge("early", "", -0.25, label("instance", ""), label("job", "reshaped")),
				},
			},
		},
		"instance\xff\xffjob\xffsecond": {
			Labels: map[string]string{"job": "second", "instance": ""},
			Metrics: map[string]TimestampedMetricFamily{
				"up": {
					GobbableMetricFamily: gauge("up", "Whether it is up.", 0, label("instance", ""), label("job", "second")),
					Timestamp:            time.Unix(1, 5).UTC(),
				},
			},
		},
	}
	if err := gob.NewEncoder(os.Stdout).Encode(groups); err != nil {
		panic(err)
	}
}
