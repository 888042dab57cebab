"""E2E check with the official Python client (prometheus_client) against a running cairn.

Usage: python3 client_check.py http://127.0.0.1:PORT
Prints one line per check: "PASS name" or "FAIL name: reason". Exit code 0 always
(the caller counts the lines).
"""
import sys

import requests
from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client import delete_from_gateway, push_to_gateway, pushadd_to_gateway
from prometheus_client.parser import text_string_to_metric_families

BASE = sys.argv[1]
GW = BASE.split("://", 1)[1]
JOB = "py/e2e job"  # contains '/', the client sends it as job@base64
GK = {"instance": "py-inst-1"}
results = []


def check(name, fn):
    try:
        fn()
        results.append(("PASS", name, ""))
    except Exception as e:  # noqa: BLE001
        results.append(("FAIL", name, f"{type(e).__name__}: {e}"))


def samples():
    r = requests.get(BASE + "/metrics", timeout=5)
    r.raise_for_status()
    out = []
    for fam in text_string_to_metric_families(r.text):
        for s in fam.samples:
            out.append((fam, s))
    return out


def find(name, **labels):
    return [s for _, s in samples() if s.name == name
            and all(s.labels.get(k) == v for k, v in labels.items())]


def groups():
    r = requests.get(BASE + "/api/v1/metrics", timeout=5)
    r.raise_for_status()
    j = r.json()
    assert j["status"] == "success", j
    return [g["labels"] for g in j["data"]]


def make_registry(gauge_value, counter_inc):
    reg = CollectorRegistry()
    g = Gauge("py_e2e_gauge", "A gauge from python", ["color"], registry=reg)
    g.labels(color="blue").set(gauge_value)
    c = Counter("py_e2e_events", "A counter from python", registry=reg)
    c.inc(counter_inc)
    return reg


def t_push():
    push_to_gateway(GW, job=JOB, registry=make_registry(7.5, 3), grouping_key=GK)
    s = find("py_e2e_gauge", job=JOB, instance="py-inst-1", color="blue")
    assert len(s) == 1 and s[0].value == 7.5, s
    c = find("py_e2e_events_total", job=JOB, instance="py-inst-1")
    assert len(c) == 1 and c[0].value == 3.0, c


def t_types_help():
    fams = {f.name: f for f in text_string_to_metric_families(
        requests.get(BASE + "/metrics", timeout=5).text)}
    assert fams["py_e2e_gauge"].type == "gauge", fams["py_e2e_gauge"].type
    assert fams["py_e2e_gauge"].documentation == "A gauge from python"
    assert fams["py_e2e_events"].type == "counter", fams["py_e2e_events"].type


def t_api_labels():
    gs = [g for g in groups() if g.get("job") == JOB]
    assert len(gs) == 1, groups()
    assert gs[0] == {"job": JOB, "instance": "py-inst-1"}, gs[0]


def t_push_replaces():
    # PUT with only the gauge: the counter must go away.
    reg = CollectorRegistry()
    Gauge("py_e2e_gauge", "A gauge from python", ["color"], registry=reg).labels(color="red").set(1)
    push_to_gateway(GW, job=JOB, registry=reg, grouping_key=GK)
    assert find("py_e2e_events_total", job=JOB) == [], "counter survived PUT"
    assert find("py_e2e_gauge", job=JOB, color="blue") == [], "old gauge series survived PUT"
    s = find("py_e2e_gauge", job=JOB, instance="py-inst-1", color="red")
    assert len(s) == 1 and s[0].value == 1.0, s


def t_pushadd_merges():
    reg = CollectorRegistry()
    c = Counter("py_e2e_events", "A counter from python", registry=reg)
    c.inc(5)
    pushadd_to_gateway(GW, job=JOB, registry=reg, grouping_key=GK)
    s = find("py_e2e_gauge", job=JOB, instance="py-inst-1", color="red")
    assert len(s) == 1 and s[0].value == 1.0, "gauge lost by POST: %r" % s
    c = find("py_e2e_events_total", job=JOB, instance="py-inst-1")
    assert len(c) == 1 and c[0].value == 5.0, c


def t_delete():
    delete_from_gateway(GW, job=JOB, grouping_key=GK)
    assert find("py_e2e_gauge") == [], "gauge still there"
    assert find("py_e2e_events_total") == [], "counter still there"
    assert [g for g in groups() if g.get("job") == JOB] == [], groups()


check("python push_to_gateway (PUT) values/labels", t_push)
check("python types and help", t_types_help)
check("python /api/v1/metrics group labels (job with '/')", t_api_labels)
check("python push_to_gateway replaces group", t_push_replaces)
check("python pushadd_to_gateway (POST) merges", t_pushadd_merges)
check("python delete_from_gateway removes group", t_delete)

for status, name, why in results:
    print(f"{status} {name}" + (f": {why}" if why else ""))
