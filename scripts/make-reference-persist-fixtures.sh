#!/usr/bin/env bash
# Regenerates crates/cairn/tests/data/persist/reference/: persistence files written by the
# reference Pushgateway (Debian's prometheus-pushgateway 1.5.1, a Go `encoding/gob` file),
# each with what that reference served just before it wrote the file. The import tests
# (crates/cairn/src/import_gob/tests.rs) decode every NAME.gob and compare it with:
#
#   NAME.prom        GET /metrics, without the gateway's own families (go_*, process_*,
#                    pushgateway_*, promhttp_*): exactly the pushed families, as served.
#   NAME.timestamps  GET /api/v1/metrics reduced to one line per stored family:
#                    `<unix seconds>.<nanoseconds>\t<family>\t<name=value,...>` (grouping
#                    labels sorted by name), the family's push time as the reference kept it.
#
# It also writes reshaped.gob with scripts/reshaped-persist-fixture.go: the same shape as
# the gateway's file but with extra and reordered fields, written by Go's gob encoder
# itself, as another version of the reference could write it (its tests hold the expected
# values).
#
# Requires: apt-get install -y prometheus-pushgateway golang-go curl jq python3. Each fixture gets its
# own gateway on a free loopback port with a fresh persistence file; SIGTERM makes it write
# the file (it persists unconditionally at shutdown). Push times come from the clock, so a
# rerun changes the timestamps and the push_time_seconds values, never the structure.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="$repo_root/crates/cairn/tests/data/persist/reference"
gateway="${PUSHGATEWAY:-prometheus-pushgateway}"
work="$(mktemp -d)"
pid=""
cleanup() {
    if [[ -n "$pid" ]]; then kill -TERM "$pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$data"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start NAME: a gateway persisting to $work/NAME.data, listening on $base.
start() {
    local port
    port="$(free_port)"
    base="http://127.0.0.1:$port"
    "$gateway" --web.listen-address="127.0.0.1:$port" \
        --persistence.file="$work/$1.data" --persistence.interval=1s \
        >"$work/$1.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        if curl -sf "$base/-/ready" >/dev/null; then return; fi
        sleep 0.1
    done
    echo "gateway for $1 did not become ready" >&2
    cat "$work/$1.log" >&2
    exit 1
}

# push METHOD PATH EXPECTED_STATUS: sends stdin as a text format body.
push() {
    local status
    status="$(curl -s -o "$work/reply" -w '%{http_code}' -X "$1" --data-binary @- "$base$2")"
    if [[ "$status" != "$3" ]]; then
        echo "$1 $2 gave $status, expected $3: $(cat "$work/reply")" >&2
        exit 1
    fi
}

# finish NAME: captures what the gateway serves, stops it, keeps the file it writes.
finish() {
    curl -sf "$base/metrics" >"$work/$1.metrics"
    curl -sf "$base/api/v1/metrics" >"$work/$1.json"
    kill -TERM "$pid"
    wait "$pid" || true
    pid=""
    cp "$work/$1.data" "$data/$1.gob"
    chmod 644 "$data/$1.gob" # the gateway writes 0600
    # The gateway's own families come first and last; drop every line that belongs to one.
    awk '
        /^# (HELP|TYPE) / { name = $3 }
        !/^#/ { name = $0; sub(/[{ ].*/, "", name) }
        name !~ /^(go_|process_|pushgateway_|promhttp_)/ { print }
    ' "$work/$1.metrics" >"$data/$1.prom"
    jq -r '.data[] | (.labels | to_entries | sort_by(.key) | map("\(.key)=\(.value)") | join(",")) as $labels
        | to_entries[] | select(.value | type == "object" and has("time_stamp"))
        | [.value.time_stamp, .key, $labels] | @tsv' "$work/$1.json" |
        python3 -c '
import sys, datetime
for line in sys.stdin:
    stamp, family, labels = line.rstrip("\n").split("\t")
    # RFC 3339 with up to 9 fraction digits, which datetime cannot parse on its own.
    main, _, rest = stamp.partition(".")
    digits = "".join(c for c in rest if c.isdigit()) if rest else ""
    zone = rest[len(digits):] if rest else stamp[19:]
    main = main[:19]
    zone = "+00:00" if zone == "Z" else zone
    seconds = int(datetime.datetime.fromisoformat(main + zone).timestamp())
    print(f"{seconds}.{digits.ljust(9, chr(48))}\t{family}\t{labels}")
' | LC_ALL=C sort -t $'\t' -k3,3 -k2,2 >"$data/$1.timestamps"
}

# empty: a gateway that never got a push still writes its (empty) map at shutdown.
start empty
finish empty

# types: one group, every metric type, HELP with escapes, special float values.
start types
push PUT /metrics/job/types/instance/host1 200 <<'EOF'
# HELP requests_total Requests handled, by code.
# TYPE requests_total counter
requests_total{code="200"} 1027
requests_total{code="500"} 3
# HELP queue_depth Items waiting, "quoted", with a \\ backslash and a\nnewline.
# TYPE queue_depth gauge
queue_depth -2.5
# TYPE free_form untyped
free_form{kind="a"} 1e+06
free_form{kind="b"} 0.000123
# HELP latency_seconds Request latency.
# TYPE latency_seconds histogram
latency_seconds_bucket{le="0.1"} 2
latency_seconds_bucket{le="1"} 5
latency_seconds_bucket{le="+Inf"} 6
latency_seconds_sum 4.25
latency_seconds_count 6
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.5"} 0.05
rpc_duration_seconds{quantile="0.99"} 0.2
rpc_duration_seconds_sum 12.5
rpc_duration_seconds_count 100
# HELP special_values Non-finite values and an escaped label value.
# TYPE special_values gauge
special_values{v="nan"} NaN
special_values{v="inf"} +Inf
special_values{v="-inf"} -Inf
special_values{v="Björn \"b\" \\ c\nd"} 7
EOF
finish types

# groups: several groups with unusual grouping keys, a failed push, a POST merge.
start groups
# A job name with a slash can only be pushed base64-encoded (bmlnaHRseS9iYWNrdXA = "nightly/backup").
push PUT /metrics/job@base64/bmlnaHRseS9iYWNrdXA/instance/db1 200 <<'EOF'
# HELP backup_bytes Bytes written by the last backup.
# TYPE backup_bytes gauge
backup_bytes 1.5e+09
EOF
# An empty instance, which is another group than one without an instance label.
push PUT /metrics/job/batch/instance@base64/= 200 <<'EOF'
# TYPE jobs_done_total counter
jobs_done_total 5
EOF
push PUT /metrics/job/batch/instance/i1/zone/eu-west 200 <<'EOF'
# TYPE jobs_done_total counter
jobs_done_total{queue="fast"} 12
EOF
# A push that the consistency check rejects (jobs_done_total is a counter elsewhere) to a
# group that exists: the group keeps its families and gets push_failure_time_seconds.
push PUT /metrics/job/failing 200 <<'EOF'
# TYPE last_run_ok gauge
last_run_ok 1
EOF
sleep 1.1
push PUT /metrics/job/failing 400 <<'EOF'
# TYPE jobs_done_total gauge
jobs_done_total 1
EOF
# A failed first push creates the group with push_time_seconds 0.
push PUT /metrics/job/never_ok 400 <<'EOF'
# TYPE jobs_done_total gauge
jobs_done_total 2
EOF
# PUT two families, then POST one of them again and a third: three families with two
# different push times.
push PUT /metrics/job/merged 200 <<'EOF'
# TYPE merged_a gauge
merged_a 1
# TYPE merged_b gauge
merged_b 2
EOF
sleep 1.1
push POST /metrics/job/merged 200 <<'EOF'
# TYPE merged_b gauge
merged_b 20
# TYPE merged_c untyped
merged_c 30
EOF
finish groups

# reshaped: Go's own gob encoder, standard library only.
GO111MODULE=off GOCACHE="$work/gocache" go run "$repo_root/scripts/reshaped-persist-fixture.go" \
    >"$data/reshaped.gob"

echo "wrote $(ls "$data" | tr '\n' ' ')"
