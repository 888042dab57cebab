"""Takes docs/ui.png: the web page with a few realistic groups, one of them failed.

    /usr/bin/python3 tests/ui/screenshot.py --cmd target/release/cairn --out docs/ui.png
"""

import argparse
import sys

from harness import Gateway, b64, browser, open_page

BACKUP = """\
# HELP backup_last_success_timestamp_seconds When the backup last succeeded.
# TYPE backup_last_success_timestamp_seconds gauge
backup_last_success_timestamp_seconds 1.7647e+09
# HELP backup_bytes_written_total Bytes written by the backup.
# TYPE backup_bytes_written_total counter
backup_bytes_written_total{volume="data"} 4.2e+10
backup_bytes_written_total{volume="logs"} 1.3e+09
"""

ETL = """\
# HELP etl_rows_loaded_total Rows loaded into the warehouse.
# TYPE etl_rows_loaded_total counter
etl_rows_loaded_total{table="orders"} 182734
etl_rows_loaded_total{table="customers"} 9120
# HELP etl_step_duration_seconds Time taken by one step.
# TYPE etl_step_duration_seconds histogram
etl_step_duration_seconds_bucket{le="1"} 2
etl_step_duration_seconds_bucket{le="5"} 9
etl_step_duration_seconds_bucket{le="30"} 14
etl_step_duration_seconds_bucket{le="120"} 15
etl_step_duration_seconds_bucket{le="+Inf"} 15
etl_step_duration_seconds_sum 212.4
etl_step_duration_seconds_count 15
# HELP etl_batch_size_rows Rows per batch.
# TYPE etl_batch_size_rows summary
etl_batch_size_rows{quantile="0.5"} 980
etl_batch_size_rows{quantile="0.9"} 1740
etl_batch_size_rows{quantile="0.99"} 1990
etl_batch_size_rows_sum 191854
etl_batch_size_rows_count 196
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cmd", default="target/release/cairn")
    parser.add_argument("--out", default="docs/ui.png")
    args = parser.parse_args()
    gw = Gateway(args.cmd, ["--web.enable-admin-api"])
    try:
        gw.push("PUT", "job/backup/instance/db1", BACKUP)
        gw.push("PUT", "job/backup/instance/db2", BACKUP)
        gw.push("PUT", "job/nightly_etl/instance/warehouse", ETL)
        gw.push("PUT", "job/cert_renewal", "# TYPE certs_renewed gauge\ncerts_renewed 3\n")
        gw.push("PUT", f"job@base64/{b64('reports/daily')}",
                "# HELP report_pages Pages in the report.\n# TYPE report_pages gauge\nreport_pages 12\n")
        # A failed push: the metric name is a counter elsewhere.
        status, _ = gw.push("PUT", "job/cert_renewal", "# TYPE etl_rows_loaded_total gauge\n"
                                                       "etl_rows_loaded_total 1\n")
        assert status == 400, status
        driver = browser(1200, 1000)
        try:
            open_page(driver, gw.url("/"))
            driver.execute_script("""
                for (const d of document.querySelectorAll('details.group')) {
                  if (d.textContent.includes('nightly_etl')) d.open = true;
                }""")
            driver.save_screenshot(args.out)
        finally:
            driver.quit()
    finally:
        gw.stop()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
