"""End-to-end tests of the web page in headless Chromium against the release binary.

    /usr/bin/python3 tests/ui/test_ui.py --cmd target/release/cairn

Each scenario starts its own gateway on a free loopback port, pushes over HTTP, and checks
what the page shows and does: the groups and their families are listed, a failed push is
marked, the filter narrows the list, Delete Group works with the admin API and is absent
without it (also for label names a URL must `U__`-escape), and all of it works under a
route prefix and an external URL. Exits non-zero if any check fails.
"""

import argparse
import json
import sys
import traceback

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from harness import Gateway, b64, browser, open_page

ETL = """\
# HELP etl_rows_loaded_total Rows loaded into the warehouse.
# TYPE etl_rows_loaded_total counter
etl_rows_loaded_total{table="orders"} 182734
etl_rows_loaded_total{table="customers"} 9120
# HELP etl_step_duration_seconds Time taken by one step.
# TYPE etl_step_duration_seconds histogram
etl_step_duration_seconds_bucket{le="1"} 2
etl_step_duration_seconds_bucket{le="5"} 9
etl_step_duration_seconds_bucket{le="+Inf"} 15
etl_step_duration_seconds_sum 212.4
etl_step_duration_seconds_count 15
# HELP etl_batch_size_rows Rows per batch.
# TYPE etl_batch_size_rows summary
etl_batch_size_rows{quantile="0.5"} 980
etl_batch_size_rows{quantile="0.99"} 1990
etl_batch_size_rows_sum 191854
etl_batch_size_rows_count 196
"""

# The job and labels of the groups `seed` pushes, as the page shows them.
BACKUP = 'job="backup"'
ETL_JOB = 'job="nightly_etl"'
FLAKY = 'job="flaky"'
REPORTS = 'job="reports/daily"'


def seed(gw):
    """Four groups: a backup, an ETL run with a histogram and a summary, a job whose last
    push failed, and a job with a slash and an empty label value (only reachable in base64)."""
    pushes = [
        ("PUT", "job/backup/instance/db1",
         "# HELP backup_bytes Bytes written.\n# TYPE backup_bytes gauge\nbackup_bytes 42\n"),
        ("PUT", "job/nightly_etl/instance/warehouse", ETL),
        ("PUT", "job/flaky", "# TYPE flaky_rows counter\nflaky_rows 7\n"),
        ("PUT", f"job@base64/{b64('reports/daily')}/env@base64/=",
         "# TYPE report_pages gauge\nreport_pages 12\n"),
    ]
    for method, path, body in pushes:
        status, reply = gw.push(method, path, body)
        assert status == 200, (path, status, reply)
    # Fails the consistency check: backup_bytes is a gauge in another group.
    status, reply = gw.push("PUT", "job/flaky", "# TYPE backup_bytes counter\nbackup_bytes 1\n")
    assert status == 400, (status, reply)
    flaky = [g for g in json.loads(gw.request("GET", "/api/v1/metrics")[1])["data"]
             if g["labels"] == {"job": "flaky"}][0]
    assert flaky["last_push_successful"] is False, flaky


def cards(driver):
    """The cards shown (not filtered out), by their summary line's text."""
    return driver.execute_script("""
        return [...document.querySelectorAll('details.group')]
          .filter((d) => !d.hidden)
          .map((d) => d.querySelector('summary').textContent);""")


def card(driver, text):
    """The card element whose summary contains `text`."""
    for element in driver.find_elements(By.CSS_SELECTOR, "details.group"):
        if text in element.find_element(By.TAG_NAME, "summary").text:
            return element
    raise AssertionError(f"no card with {text!r}: {cards(driver)}")


def open_card(driver, text):
    element = card(driver, text)
    if not element.get_attribute("open"):
        element.find_element(By.TAG_NAME, "summary").click()
    WebDriverWait(driver, 10).until(
        lambda d: element.find_elements(By.CSS_SELECTOR, ".body"))
    return element


def wait_for(driver, predicate, what, timeout=10):
    try:
        WebDriverWait(driver, timeout).until(lambda d: predicate())
    except Exception:
        raise AssertionError(f"timed out waiting for {what}") from None


def set_filter(driver, text):
    box = driver.find_element(By.ID, "filter")
    box.clear()
    if text:
        box.send_keys(text)
    else:
        # clear() sends no input event.
        driver.execute_script(
            "arguments[0].dispatchEvent(new Event('input'))", box)


def console_errors(driver):
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def check_lists_groups_and_metrics(driver, gw):
    timing = open_page(driver, gw.url("/"))
    shown = cards(driver)
    assert len(shown) == 4, shown
    assert timing["groups"] == 4, timing
    assert shown[0].startswith(BACKUP), shown  # by job, then the other labels
    summary = driver.find_element(By.ID, "summary").text
    assert "4 groups" in summary and "1 failed" in summary, summary
    etl = open_card(driver, ETL_JOB)
    text = etl.text.lower()  # the type is shown in capitals
    for expected in ["etl_rows_loaded_total", "Rows loaded into the warehouse.", "counter",
                     'table="orders"', "182734", "etl_step_duration_seconds", "histogram",
                     "+Inf", "212.4", "etl_batch_size_rows", "summary", "0.99", "1990"]:
        assert expected.lower() in text, (expected, text)
    # Buckets in numeric order, +Inf last, whatever order the JSON object has.
    histogram = etl.find_element(
        By.XPATH, ".//section[.//code[text()='etl_step_duration_seconds']]")
    bounds = [th.text for th in histogram.find_elements(By.CSS_SELECTOR, ".dist tr:first-child th")]
    assert ["le", "1", "5", "+Inf"] == bounds, bounds
    reports = card(driver, REPORTS)
    assert 'env=""' in reports.text, reports.text


def check_failed_push_is_marked(driver, gw):
    open_page(driver, gw.url("/"))
    flaky = card(driver, FLAKY)
    assert "failed" in flaky.get_attribute("class").split(), flaky.get_attribute("class")
    assert "last push failed" in flaky.text, flaky.text
    for other in (BACKUP, ETL_JOB, REPORTS):
        element = card(driver, other)
        assert "last push failed" not in element.text, (other, element.text)
    Select(driver.find_element(By.ID, "show")).select_by_value("failed")
    wait_for(driver, lambda: len(cards(driver)) == 1, "the failed filter")
    assert cards(driver)[0].startswith(FLAKY), cards(driver)
    # The failed push left the old metrics: the group still has flaky_rows.
    body = open_card(driver, FLAKY).text
    assert "flaky_rows" in body and "Last failed push" in body, body


def check_filter_narrows(driver, gw):
    open_page(driver, gw.url("/"))
    for text, expected in [
        ("etl", [ETL_JOB]),                    # part of a job
        ("backup_bytes", [BACKUP]),            # a metric name
        ('instance="db1"', [BACKUP]),          # a label as shown
        ("REPORTS daily", [REPORTS]),          # words, any case, all must match
        ("no-such-thing", []),
        ("", [BACKUP, FLAKY, ETL_JOB, REPORTS]),
    ]:
        set_filter(driver, text)
        wait_for(driver, lambda: len(cards(driver)) == len(expected), f"filter {text!r}")
        shown = cards(driver)
        for label in expected:
            assert any(c.startswith(label) for c in shown), (text, label, shown)
    # The filter is in the URL, so a reload or a shared link keeps it.
    set_filter(driver, "etl")
    wait_for(driver, lambda: "q=etl" in driver.current_url, "the filter in the URL")
    open_page(driver, driver.current_url)
    assert len(cards(driver)) == 1 and cards(driver)[0].startswith(ETL_JOB), cards(driver)


def check_stale_groups_marked(driver, gw):
    # The page's clock two hours ahead: every group's last push is two hours old.
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {
        "source": "const realNow = Date.now; Date.now = () => realNow() + 7200e3;"})
    open_page(driver, gw.url("/"))
    Select(driver.find_element(By.ID, "stale")).select_by_value("86400")
    wait_for(driver, lambda: "0 stale" in driver.find_element(By.ID, "summary").text, "0 stale")
    Select(driver.find_element(By.ID, "stale")).select_by_value("3600")
    wait_for(driver, lambda: "4 stale" in driver.find_element(By.ID, "summary").text, "4 stale")
    assert "2 h ago" in card(driver, BACKUP).text, card(driver, BACKUP).text
    assert card(driver, BACKUP).find_element(By.CSS_SELECTOR, ".flag.stale").is_displayed()
    # The threshold is remembered.
    open_page(driver, gw.url("/"))
    assert Select(driver.find_element(By.ID, "stale")).first_selected_option.text == "1 hour"


def check_delete_group(driver, gw):
    open_page(driver, gw.url("/"))
    assert driver.find_element(By.ID, "wipe").is_displayed()
    before = len(gw.groups())
    reports = open_card(driver, REPORTS)
    reports.find_element(By.CSS_SELECTOR, "button.delete").click()
    alert = driver.switch_to.alert
    assert "reports/daily" in alert.text, alert.text
    alert.accept()
    wait_for(driver, lambda: len(cards(driver)) == 3, "the card to go")
    groups = gw.groups()
    assert len(groups) == before - 1, groups
    assert {"job": "reports/daily", "env": ""} not in groups, groups
    # Dismissing the confirmation deletes nothing.
    open_card(driver, BACKUP).find_element(By.CSS_SELECTOR, "button.delete").click()
    driver.switch_to.alert.dismiss()
    assert len(gw.groups()) == before - 1


def check_delete_all(driver, gw):
    open_page(driver, gw.url("/"))
    driver.find_element(By.ID, "wipe").click()
    driver.switch_to.alert.accept()
    wait_for(driver, lambda: "No groups" in driver.find_element(By.ID, "summary").text,
             "the empty list")
    assert cards(driver) == [], cards(driver)
    assert gw.groups() == [], gw.groups()


# Grouping label names as a push URL gives them under --push.enable-utf8-names (`U__`
# escapes), and the names they stand for.
ESCAPED_NAMES = [
    ("U__dotted_2e_name", "dotted.name"),
    ("U__a_2f_b", "a/b"),
    ("U__U____x", "U__x"),
    ("U______n", "__n"),
]


def check_delete_escaped_names(driver, gw):
    """Each group's Delete button names its group again, whatever its label names."""
    for escaped, name in ESCAPED_NAMES:
        status, reply = gw.push("PUT", f"job/utf8/{escaped}/v", "rows 1\n")
        # Unchecked pushes are answered 202, as in the reference.
        assert status == 202, (escaped, status, reply)
    names = sorted(next(iter(set(g) - {"job"})) for g in gw.groups())
    assert names == sorted(name for _, name in ESCAPED_NAMES), names
    open_page(driver, gw.url("/"))
    for _, name in ESCAPED_NAMES:
        open_card(driver, name).find_element(By.CSS_SELECTOR, "button.delete").click()
        driver.switch_to.alert.accept()
        wait_for(driver, lambda: all(name not in c for c in cards(driver)),
                 f"the card with {name!r} to go")
        assert not driver.find_elements(By.CSS_SELECTOR, ".error:not([hidden])"), name
        assert {"job": "utf8", name: "v"} not in gw.groups(), (name, gw.groups())
    assert gw.groups() == [], gw.groups()


def check_no_delete_without_admin(driver, gw):
    open_page(driver, gw.url("/"))
    assert len(cards(driver)) == 4, cards(driver)
    body = open_card(driver, BACKUP)
    assert body.find_elements(By.CSS_SELECTOR, "button.delete") == []
    assert "Delete" not in body.text, body.text
    assert not driver.find_element(By.ID, "wipe").is_displayed()


def check_status_tab(driver, gw):
    open_page(driver, gw.url("/"))
    driver.find_element(By.ID, "tab-status").click()
    assert driver.current_url == gw.url("/status"), driver.current_url
    view = driver.find_element(By.ID, "status-view")
    assert view.is_displayed()
    assert not driver.find_element(By.ID, "groups-view").is_displayed()
    text = view.text
    for expected in ["Started", "Version", "Revision", "--web.enable-admin-api", "--web.route-prefix"]:
        assert expected in text, (expected, text)
    # Served at /status directly, the page opens on the status tab.
    open_page(driver, gw.url("/status"))
    assert driver.find_element(By.ID, "status-view").is_displayed()
    driver.find_element(By.ID, "tab-groups").click()
    assert driver.current_url == gw.url("/"), driver.current_url
    assert driver.find_element(By.ID, "groups-view").is_displayed()


def check_under_prefix(driver, gw):
    # The prefix without its slash redirects to the page.
    timing = open_page(driver, gw.base + gw.prefix)
    assert driver.current_url == gw.url("/"), driver.current_url
    assert timing["groups"] == 4 and len(cards(driver)) == 4, (timing, cards(driver))
    assert "etl_step_duration_seconds" in open_card(driver, ETL_JOB).text
    set_filter(driver, "backup")
    wait_for(driver, lambda: len(cards(driver)) == 1, "the filter under the prefix")
    set_filter(driver, "")
    check_delete_group(driver, gw)
    check_status_tab(driver, gw)


def check_many_groups_render_as_needed(driver, gw):
    for i in range(250):
        status, reply = gw.push("PUT", f"job/many/instance/host-{i:03}", f"rows {i}\n")
        assert status == 200, (status, reply)
    open_page(driver, gw.url("/"))
    summary = driver.find_element(By.ID, "summary").text
    assert "254 groups" in summary, summary
    # The first cards only; the rest come as the end of the list nears the screen.
    first = len(cards(driver))
    assert 0 < first < 254, first
    assert driver.find_element(By.ID, "more").is_displayed()
    # The filter searches every group, rendered or not.
    set_filter(driver, "host-249")
    wait_for(driver, lambda: len(cards(driver)) == 1, "a group past the first cards")
    assert 'instance="host-249"' in cards(driver)[0], cards(driver)
    set_filter(driver, "")
    wait_for(driver, lambda: len(cards(driver)) == first, "the first cards again")
    driver.find_element(By.ID, "more-all").click()
    wait_for(driver, lambda: len(cards(driver)) == 254, "every card")
    assert not driver.find_element(By.ID, "more").is_displayed()
    open_page(driver, gw.url("/"))
    assert len(cards(driver)) == first, cards(driver)
    driver.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    wait_for(driver, lambda: len(cards(driver)) > first, "more cards on scrolling")


def scenario(name, flags, prefix, checks, binary, failures, seeded=True):
    gw = Gateway(binary, flags, prefix)
    try:
        if seeded:
            seed(gw)
        for check in checks:
            driver = browser()
            label = f"{name}: {check.__name__[len('check_'):].replace('_', ' ')}"
            try:
                check(driver, gw)
                errors = console_errors(driver)
                assert not errors, f"browser console: {errors}"
                print(f"ok   {label}")
            except Exception:
                failures.append(label)
                print(f"FAIL {label}")
                traceback.print_exc()
            finally:
                driver.quit()
    finally:
        gw.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cmd", default="target/release/cairn")
    args = parser.parse_args()
    failures = []
    scenario("admin API on", ["--web.enable-admin-api"], "", [
        check_lists_groups_and_metrics, check_failed_push_is_marked, check_filter_narrows,
        check_stale_groups_marked, check_status_tab, check_delete_group, check_delete_all,
    ], args.cmd, failures)
    scenario("admin API off", [], "", [check_no_delete_without_admin,
                                       check_many_groups_render_as_needed], args.cmd, failures)
    # The consistency check refuses a `__` label name in a series, so this one is off.
    scenario("UTF-8 names", ["--web.enable-admin-api", "--push.enable-utf8-names",
                             "--push.disable-consistency-check"], "",
             [check_delete_escaped_names], args.cmd, failures, seeded=False)
    scenario("route prefix /pg", ["--web.enable-admin-api", "--web.route-prefix=/pg"], "/pg",
             [check_under_prefix], args.cmd, failures)
    scenario("external URL .../ext/", ["--web.enable-admin-api",
                                       "--web.external-url=http://gateway.example:9091/ext/"],
             "/ext", [check_under_prefix], args.cmd, failures)
    if failures:
        print(f"{len(failures)} failed: {', '.join(failures)}")
        return 1
    print("all web page checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
