"""Customer pages and support's admin, each against the bare view (and the groups list
also against the admin changelist of the same groups); the exports and the import preview."""

import re
import time
import tracemalloc

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from benchmarks.data import BENCH_PASSWORD
from benchmarks.harness import alternate, median_ms


def _client(username):
    client = Client()
    assert client.login(username=username, password=BENCH_PASSWORD)
    return client


def _get(client, url):
    def fetch():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        if response.streaming:
            # Read chunk by chunk, as a browser's download: the body is not kept here, so
            # that the export's own peak memory is what is measured.
            for _chunk in response.streaming_content:
                pass
        return response

    return fetch


def _next_link(client, url) -> str:
    """The address behind a page's "Next" link."""
    html = client.get(url).content.decode()
    href = re.search(r'href="(\?[^"]*)"[^>]*>(?:Suivant|Next)<', html).group(1)
    return url.split("?")[0] + href.replace("&amp;", "&")


def _queries(fn) -> int:
    with CaptureQueriesContext(connection) as captured:
        fn()
    return len(captured)


def measure(table, sizes, rounds) -> None:
    from exchange_groups.models import ExchangeService, Group

    customer, support = _client("bench"), _client("bench-admin")
    for size in sizes:
        service = ExchangeService.objects.get(name=f"scale-{size}")
        first = Group.objects.filter(service=service).order_by("pk").first()
        base = f"/services/{service.name}"
        bare = _get(customer, f"/bench/bare/{service.name}/")
        admin = "/admin/exchange_groups"
        admin_groups = _get(support, f"{admin}/group/?service__id__exact={service.pk}")
        pages = [
            ("groups list, page 1", customer, f"{base}/groups/"),
            ("groups list, last page", customer, f"{base}/groups/?page=last"),
            ("groups list, search", customer, f"{base}/groups/?q=group0001"),
            # A text in every customer's groups: found in this service's groups only.
            ("groups list, search of every group", customer, f"{base}/groups/?q=group0"),
            ("users of a 100-member group", customer, f"{base}/groups/{first.pk}/users/"),
            ("delegations of a group", customer, f"{base}/groups/{first.pk}/delegations/"),
            ("history of a 100-member group", customer, f"{base}/groups/{first.pk}/history/"),
            ("accounts tab, page 1", customer, f"{base}/accounts/"),
            ("accounts tab, last page", customer, f"{base}/accounts/?page=last"),
            ("contacts tab", customer, f"{base}/contacts/"),
            ("recent tasks, page 1", customer, f"{base}/tasks/"),
            ("recent tasks, last page", customer, f"{base}/tasks/?page=last"),
            ("admin: groups", support, f"{admin}/group/?service__id__exact={service.pk}"),
            ("admin: a group", support, f"{admin}/group/{first.pk}/change/"),
            ("admin: tasks", support, f"{admin}/task/?service__id__exact={service.pk}"),
            ("admin: members", support,
             f"{admin}/groupmember/?group__service__id__exact={service.pk}"),
            ("admin: accounts", support, f"{admin}/account/?service__id__exact={service.pk}"),
        ]  # fmt: skip
        # The real last pages: the groups list takes "last"; the accounts and tasks lists
        # have no total (no last-page link): their last page as a customer reaches it, by
        # "Next" from the page before (a cursor), and as a typed page number; and their
        # middle page typed.
        for tab, per_page, rows in (
            ("accounts", 25, service.accounts),
            ("tasks", 25, service.tasks),
        ):
            last = (rows.count() - 1) // per_page + 1
            typed = f"{base}/{tab}/?page={last}"
            label = "accounts tab" if tab == "accounts" else "recent tasks"
            pages = [p for p in pages if p[0] != f"{label}, last page"]
            pages.append(
                (
                    f"{label}, last page (by Next)",
                    customer,
                    _next_link(customer, f"{base}/{tab}/?page={last - 1}"),
                )
            )
            pages.append((f"{label}, page {last} typed in the address", customer, typed))
            # Its middle page typed (a bookmark): farthest from both ends.
            middle = max(1, last // 2)
            pages.append((f"{label}, page {middle} typed in the address", customer,
                          f"{base}/{tab}/?page={middle}"))  # fmt: skip
        # The groups list's middle page, the farthest from both ends: by Next from the page
        # before (towards a page that deep, the link carries a cursor), and typed in the
        # address.
        middle = max(1, -(-service.groups.count() // 20) // 2)
        pages.append(("groups list, middle page (by Next)", customer,
                      _next_link(customer, f"{base}/groups/?page={middle - 1}")
                      if middle > 1 else f"{base}/groups/"))  # fmt: skip
        pages.append((f"groups list, page {middle} typed in the address", customer,
                      f"{base}/groups/?page={middle}"))  # fmt: skip
        if middle > 25:  # a page Next links by its number (500 rows in: not deep)
            pages.append(("groups list, page 25 (by Next)", customer,
                          _next_link(customer, f"{base}/groups/?page=24")))  # fmt: skip
        big = Group.objects.filter(service=service, address__local_part="big").first()
        if big:
            big_users = f"{base}/groups/{big.pk}/users/"
            pages.append(("users of the 10,000-member group", customer, big_users))
            big_history = f"{base}/groups/{big.pk}/history/"
            pages.append(("history of the 10,000-member group", customer, big_history))
        for label, client, url in pages:
            fetch = _get(client, url)
            a, b = alternate(fetch, bare, rounds)
            name = f"{size} groups: {label}"
            table.add(name, f"{median_ms(a):.0f} ms", f"bare {median_ms(b):.0f} ms",
                      f"{median_ms(a) / median_ms(b):.1f}x", _queries(fetch))  # fmt: skip
            if label.startswith("groups list"):
                a, b = alternate(fetch, admin_groups, rounds)
                table.add(name, f"{median_ms(a):.0f} ms", f"admin changelist {median_ms(b):.0f} ms",
                          f"{median_ms(a) / median_ms(b):.1f}x", "")  # fmt: skip


def measure_files(table, size, sizes) -> None:
    """The groups CSV (time, and peak Python memory at every size: it must not grow), the
    import preview."""
    from exchange_groups.models import Account, ExchangeService, Group

    customer = _client("bench")
    for n in sorted(sizes):
        export = _get(customer, f"/services/scale-{n}/groups/export.csv")
        times = []
        for _ in range(3):
            start = time.perf_counter()
            export()
            times.append(time.perf_counter() - start)
        tracemalloc.start()
        export()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        table.add(f"groups CSV export, {n} groups", f"{median_ms(times):.0f} ms",
                  f"peak Python memory {peak / 1e6:.1f} MB", "", _queries(export))  # fmt: skip

    service = ExchangeService.objects.get(name=f"scale-{size}")
    big = Group.objects.get(service=service, address__local_part="big")
    accounts = (
        Account.objects.filter(service=service)
        .exclude(memberships__group=big)
        .select_related("address__domain")[:15_000]
    )
    lines = [a.address.email for a in accounts]
    lines += [f"new{i}@outside.example" for i in range(3_000)]
    lines += [f"not an address {i}" for i in range(1_000)]
    lines += lines[:1_000]  # listed twice
    body = ("email\n" + "\n".join(lines) + "\n").encode()
    url = f"/services/{service.name}/groups/{big.pk}/import/"

    def preview():
        from django.core.files.uploadedfile import SimpleUploadedFile

        upload = SimpleUploadedFile("import.csv", body, content_type="text/csv")
        response = customer.post(url, {"file": upload})
        assert response.status_code == 200, response.status_code
        return response

    times = []
    for _ in range(3):
        start = time.perf_counter()
        preview()
        times.append(time.perf_counter() - start)
    table.add(f"import preview, {len(lines)} lines", f"{median_ms(times):.0f} ms", "", "",
              _queries(preview))  # fmt: skip
