#!/usr/bin/env bash
# End-to-end checks of target/release/cairn with real clients: curl (the reference
# README's examples), the Python prometheus_client, and a real Prometheus scraping it.
# Prints "N passed, M failed" last; exits non-zero if anything failed.
set -euo pipefail
cd "$(dirname "$0")/../.."

CAIRN=${CAIRN:-target/release/cairn}
PROMETHEUS=${PROMETHEUS:-$(command -v prometheus || echo /usr/bin/prometheus)}
PYTHON=${PYTHON:-python3}
passed=0
failed=0
tmp=$(mktemp -d)
cairn_pid=""
prom_pid=""

cleanup() {
  if [ -n "$prom_pid" ] && kill -0 "$prom_pid" 2>/dev/null; then
    kill "$prom_pid" 2>/dev/null || true
    wait "$prom_pid" 2>/dev/null || true
  fi
  if [ -n "$cairn_pid" ] && kill -0 "$cairn_pid" 2>/dev/null; then
    kill -9 "$cairn_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

pass() { passed=$((passed + 1)); echo "PASS $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1${2:+: $2}"; }

free_port() {
  "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_http URL SECONDS
wait_http() {
  local deadline=$((SECONDS + $2))
  while [ $SECONDS -lt "$deadline" ]; do
    if curl -fsS -m 2 -o /dev/null "$1" 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  return 1
}

# status METHOD URL [BODY]  -> prints the HTTP status code
status() {
  if [ $# -ge 3 ]; then
    printf '%s' "$3" | curl -sS -m 10 -o "$tmp/body" -w '%{http_code}' -X "$1" --data-binary @- "$2"
  else
    curl -sS -m 10 -o "$tmp/body" -w '%{http_code}' -X "$1" "$2"
  fi
}

expect_status() { # name want got
  if [ "$3" = "$2" ]; then pass "$1"; else fail "$1" "want HTTP $2, got $3 ($(head -c 300 "$tmp/body" 2>/dev/null))"; fi
}

metrics() { curl -fsS -m 10 "$BASE/metrics"; }

# ---------------------------------------------------------------- start cairn
[ -x "$CAIRN" ] || { echo "no $CAIRN (cargo build --release -p cairn-cli)"; exit 2; }
PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
mkdir -p "$tmp/cairn"
(cd "$tmp/cairn" && exec "$OLDPWD/$CAIRN" --web.listen-address="127.0.0.1:$PORT" --log.level=warn) \
  >"$tmp/cairn.log" 2>&1 &
cairn_pid=$!
if wait_http "$BASE/-/ready" 15; then pass "cairn ready on 127.0.0.1:$PORT"; else
  fail "cairn ready" "$(tail -5 "$tmp/cairn.log")"
  echo "$passed passed, $failed failed"; exit 1
fi

# ---------------------------------------------------------------- 1. curl (reference README)
code=$(echo "some_metric 3.14" | curl -sS -m 10 -o "$tmp/body" -w '%{http_code}' --data-binary @- "$BASE/metrics/job/some_job")
expect_status "curl: README push some_metric 3.14" 200 "$code"
if metrics | grep -qxF 'some_metric{instance="",job="some_job"} 3.14'; then
  pass "curl: some_metric scraped with job/instance labels"
else fail "curl: some_metric scraped" "$(metrics | grep some_metric || true)"; fi

# The README's second example re-declares some_metric as a counter: a type clash, 400.
conflict='# TYPE some_metric counter
some_metric{label="val1"} 42
'
code=$(status POST "$BASE/metrics/job/some_job/instance/some_instance" "$conflict")
expect_status "curl: README's conflicting second example (some_metric counter) rejected" 400 "$code"

multi='# TYPE another_metric_total counter
another_metric_total{label="val1"} 42
# TYPE another_gauge gauge
another_gauge 2398.283
# TYPE readme_counter counter
# HELP readme_counter Just an example.
readme_counter{label="val2"} 7
'
code=$(status POST "$BASE/metrics/job/some_job/instance/some_instance" "$multi")
expect_status "curl: multi-line push with TYPE/HELP" 200 "$code"
m=$(metrics)
ok=1
for line in \
  'another_metric_total{instance="some_instance",job="some_job",label="val1"} 42' \
  'another_gauge{instance="some_instance",job="some_job"} 2398.283' \
  '# HELP readme_counter Just an example.' \
  '# TYPE readme_counter counter' \
  'readme_counter{instance="some_instance",job="some_job",label="val2"} 7'; do
  grep -qxF "$line" <<<"$m" || { ok=0; fail "curl: scrape has '$line'" "$(grep -E 'another|readme' <<<"$m" || true)"; }
done
[ $ok = 1 ] && pass "curl: multi-line push scraped as pushed"

code=$(status DELETE "$BASE/metrics/job/some_job/instance/some_instance")
expect_status "curl: DELETE group" 202 "$code"
m=$(metrics)
if grep -qE '^(another_metric_total|another_gauge|readme_counter)\{' <<<"$m" || grep -q 'instance="some_instance"' <<<"$m"; then
  fail "curl: deleted group gone from /metrics" "$(grep some_instance <<<"$m")"
else pass "curl: deleted group gone from /metrics"; fi
if grep -qxF 'some_metric{instance="",job="some_job"} 3.14' <<<"$m"; then
  pass "curl: other group (job=some_job) untouched by DELETE"
else fail "curl: other group untouched by DELETE"; fi
code=$(status DELETE "$BASE/metrics/job/some_job")
expect_status "curl: DELETE job group" 202 "$code"

# ---------------------------------------------------------------- 2. Python prometheus_client
if out=$(timeout 60 "$PYTHON" tests/e2e/client_check.py "$BASE" 2>&1); then :; else
  fail "python client script ran" "$(tail -5 <<<"$out")"
fi
while IFS= read -r line; do
  case "$line" in
    "PASS "*) pass "${line#PASS }" ;;
    "FAIL "*) l=${line#FAIL }; fail "${l%%: *}" "${l#*: }" ;;
  esac
done <<<"$out"
grep -q '^PASS \|^FAIL ' <<<"$out" || fail "python client produced results" "$(tail -5 <<<"$out")"

# ---------------------------------------------------------------- 3. real Prometheus
if [ ! -x "$PROMETHEUS" ]; then
  fail "prometheus binary present" "$PROMETHEUS"
else
  PPORT=$(free_port)
  PBASE="http://127.0.0.1:$PPORT"
  cat >"$tmp/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: pushgateway
    honor_labels: true
    scrape_interval: 1s
    scrape_timeout: 1s
    static_configs:
      - targets: ['127.0.0.1:$PORT']
YML
  code=$(status PUT "$BASE/metrics/job/e2e_job/instance/e2e_instance" '# TYPE e2e_value gauge
e2e_value 42
')
  expect_status "prometheus: push e2e_value 42" 200 "$code"
  "$PROMETHEUS" --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/prom-data" \
    --web.listen-address="127.0.0.1:$PPORT" --log.level=warn >"$tmp/prom.log" 2>&1 &
  prom_pid=$!
  if ! wait_http "$PBASE/-/ready" 30; then
    fail "prometheus ready" "$(tail -5 "$tmp/prom.log")"
  else
    pass "prometheus ready on 127.0.0.1:$PPORT"
    got=""
    deadline=$((SECONDS + 30))
    while [ $SECONDS -lt $deadline ]; do
      r=$(curl -sS -m 5 "$PBASE/api/v1/query?query=e2e_value" 2>/dev/null || true)
      if [ -n "$r" ] && "$PYTHON" -c 'import json,sys; sys.exit(0 if json.loads(sys.argv[1])["data"]["result"] else 1)' "$r" 2>/dev/null; then
        got=$r; break
      fi
      sleep 0.5
    done
    if [ -z "$got" ]; then
      fail "prometheus: query e2e_value returns a sample within 30s" "$(curl -sS -m 5 "$PBASE/api/v1/targets" | head -c 500)"
    else
      pass "prometheus: query e2e_value returns a sample"
      if why=$("$PYTHON" - "$got" <<'PY'
import json, sys
res = json.loads(sys.argv[1])["data"]["result"]
assert len(res) == 1, res
m, v = res[0]["metric"], res[0]["value"]
assert float(v[1]) == 42.0, v
assert m.get("job") == "e2e_job", m
assert m.get("instance") == "e2e_instance", m
assert "exported_job" not in m and "exported_instance" not in m, m
assert m.get("__name__") == "e2e_value", m
PY

      ) 2>&1; then pass "prometheus: e2e_value == 42 with job=e2e_job, instance=e2e_instance (honor_labels)"
      else fail "prometheus: value/labels" "$why $got"; fi
    fi
  fi
  kill "$prom_pid" 2>/dev/null || true
  wait "$prom_pid" 2>/dev/null || true
  prom_pid=""
fi

# ---------------------------------------------------------------- stop cairn
kill -TERM "$cairn_pid"
rc=0
deadline=$((SECONDS + 10))
while kill -0 "$cairn_pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
if kill -0 "$cairn_pid" 2>/dev/null; then
  fail "cairn exits on SIGTERM within 10s"
else
  wait "$cairn_pid" || rc=$?
  cairn_pid=""
  if [ "$rc" = 0 ]; then pass "cairn exits 0 on SIGTERM"; else fail "cairn exits 0 on SIGTERM" "exit $rc: $(tail -3 "$tmp/cairn.log")"; fi
fi

# ---------------------------------------------------------------- systemd socket activation
# The reference's --web.systemd-socket: systemd (here systemd-socket-activate, from the
# systemd package) listens and hands the socket to cairn.
SPORT=$(free_port)
systemd-socket-activate -l "127.0.0.1:$SPORT" "$CAIRN" --web.systemd-socket \
  >"$tmp/socket.log" 2>&1 &
socket_pid=$!
if wait_http "http://127.0.0.1:$SPORT/-/ready" 20 &&
  status PUT "http://127.0.0.1:$SPORT/metrics/job/activated" "activated 1
" >"$tmp/code" && [ "$(cat "$tmp/code")" = 200 ] &&
  curl -fsS -m 10 "http://127.0.0.1:$SPORT/metrics" | grep -qxF 'activated{instance="",job="activated"} 1'; then
  pass "--web.systemd-socket serves on the socket systemd passes"
else
  fail "--web.systemd-socket serves on the socket systemd passes" "$(tail -3 "$tmp/socket.log")"
fi
kill -TERM "$socket_pid" 2>/dev/null || true
wait "$socket_pid" 2>/dev/null || true

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
