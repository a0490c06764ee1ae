"""EXPLAIN ANALYZE of every query the customer pages make, on the data of scale.py (run it
first, then this on the same DATABASE_URL):

    .venv/bin/python benchmarks/explain.py [size] [--plans]

For each page: each SELECT's execution time, the rows it read, and any sequential scan of
a table; --plans prints the whole plans.
"""

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import harness  # noqa: E402


def main(size: int, full: bool) -> None:
    harness.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from benchmarks.pages import _client, _get
    from exchange_groups.models import ExchangeService, Group

    service = ExchangeService.objects.get(name=f"scale-{size}")
    first = Group.objects.filter(service=service).order_by("pk").first()
    big = Group.objects.filter(service=service, address__local_part="big").first() or first
    base = f"/services/{service.name}"
    customer = _client("bench")
    urls = [
        f"{base}/groups/", f"{base}/groups/?page=last", f"{base}/groups/?q=group0001",
        f"{base}/groups/?q=group0",
        f"{base}/groups/{first.pk}/users/", f"{base}/groups/{big.pk}/users/",
        f"{base}/groups/{first.pk}/delegations/", f"{base}/accounts/",
        f"{base}/accounts/?page=last", f"{base}/contacts/", f"{base}/tasks/",
        f"{base}/tasks/?page=last",
    ]  # fmt: skip
    for url in urls:
        with CaptureQueriesContext(connection) as captured:
            _get(customer, url)()
        print(f"\n== {url}: {len(captured)} queries")
        for query in captured:
            sql = query["sql"]
            if not sql.lstrip("( ").upper().startswith("SELECT"):
                continue
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN ANALYZE " + sql)
                plan = [row[0] for row in cursor.fetchall()]
            took = next((line for line in plan if line.startswith("Execution Time")), "")
            scans = sorted({m for line in plan for m in re.findall(r"Seq Scan on (\w+)", line)})
            print(f"  {took:<28} {' '.join(scans) and 'seq scan: ' + ' '.join(scans)}  {sql[:110]}")
            if full:
                print("\n".join("      " + line for line in plan))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(int(args[0]) if args else 10_000, "--plans" in sys.argv)
