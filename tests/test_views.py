"""The customer pages through the test client: without JavaScript, with htmx, and for
users who may not see them."""

import re

import pytest
from django.db import connection
from django.urls import reverse

from exchange_groups import services
from exchange_groups.models import Domain, Group, Task

from .conftest import make_account, make_group

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def group(service, customer, domain, accounts):
    """Operational, its creation task still to do (the tasks page shows it)."""
    members = [a.pk for a in accounts[:2]]
    return make_group(
        service, customer, finish_tasks=False, display_name="Team", member_accounts=members
    )


@pytest.fixture
def logged_in(client, customer):
    client.force_login(customer)
    return client


def page_urls(service, group):
    s = service.name
    return [
        reverse("panel:service", args=[s]),
        reverse("panel:accounts", args=[s]),
        reverse("panel:contacts", args=[s]),
        reverse("panel:groups", args=[s]),
        reverse("panel:group-delete", args=[s, group.pk]),
        reverse("panel:tasks", args=[s]),
    ]


def test_every_page_works_without_javascript(logged_in, service, group):
    for url in page_urls(service, group):
        response = logged_in.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert html.startswith("<!doctype html>") and "</html>" in html, url
        assert "nav-tabs" in html


def test_htmx_gets_the_region_and_the_same_url_without_htmx_the_page(logged_in, service, group):
    for name in ("panel:groups", "panel:tasks", "panel:accounts", "panel:contacts"):
        url = reverse(name, args=[service.name])
        partial = logged_in.get(url, **HTMX).content.decode()
        whole = logged_in.get(url).content.decode()
        assert partial.lstrip().startswith('<div id="table"'), name
        assert "<html" not in partial and "<html" in whole
        assert 'id="table"' in whole


def test_services_page_lists_only_granted_services(logged_in, service, other_service):
    html = logged_in.get(reverse("panel:services")).content.decode()
    assert service.name in html and other_service.name not in html


def test_home_goes_straight_to_the_groups_of_a_single_service(logged_in, service):
    response = logged_in.get("/")
    assert response.url == reverse("panel:groups", args=[service.name])


def test_login_page_and_login(client, customer, service):
    assert client.get(reverse("login")).status_code == 200
    response = client.post(
        reverse("login"), {"username": "alice", "password": "alice-password-1"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("panel:groups", args=[service.name])
    client.logout()
    bad = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert bad.status_code == 200 and "alert-danger" in bad.content.decode()


def test_groups_list_columns_search_and_status(logged_in, service, group, domain, customer):
    html = logged_in.get(reverse("panel:groups", args=[service.name])).content.decode()
    assert "team@example.fr" in html and "Team" in html
    assert 'data-status="pending"' in html  # its members task is still to do
    assert "Tâche planifiée ou en cours d’exécution" in html
    services.create_group(service, user=customer, local_part="sales", domain=domain)
    found = logged_in.get(reverse("panel:groups", args=[service.name]), {"q": "sal"})
    assert "sales@example.fr" in found.content.decode()
    assert "team@example.fr" not in found.content.decode()
    assert "Création en cours" in found.content.decode()


def test_group_row_poll_returns_the_row_then_nothing_once_deleted(logged_in, service, group):
    url = reverse("panel:group-row", args=[service.name, group.pk])
    row = logged_in.get(url, **HTMX).content.decode()
    assert row.lstrip().startswith(f'<tr id="group-{group.pk}"')
    group.delete()
    assert logged_in.get(url, **HTMX).content == b""


def test_delete_confirmation_names_the_group_and_its_counts(logged_in, service, group):
    url = reverse("panel:group-delete", args=[service.name, group.pk])
    html = logged_in.get(url).content.decode()
    assert "Team" in html and "team@example.fr" in html
    response = logged_in.post(url, follow=True)
    assert "a bien été prise en compte" in response.content.decode()
    assert Group.objects.get(pk=group.pk).state == "deleting"
    assert group.tasks.filter(function="deleteDistributionGroup").exists()


def test_tasks_page_filters_retries_and_cancels(logged_in, service, group):
    first, second = group.tasks.order_by("pk")
    Task.objects.filter(pk=first.pk).update(status="error", error="La plateforme a refusé.")
    url = reverse("panel:tasks", args=[service.name])
    html = logged_in.get(url).content.decode()
    assert "La plateforme a refusé." in html and "Réessayer" in html
    assert 'data-polling="true"' in html  # a task is still to do
    assert "En erreur" in logged_in.get(url, {"status": "error"}).content.decode()
    assert f'id="task-{second.pk}"' not in logged_in.get(url, {"status": "error"}).content.decode()
    logged_in.post(reverse("panel:task-retry", args=[service.name, first.pk]))
    assert Task.objects.get(pk=first.pk).status == "todo"
    logged_in.post(reverse("panel:task-cancel", args=[service.name, second.pk]))
    assert Task.objects.get(pk=second.pk).status == "cancelled"
    # Nothing pending any more once all are finished: the page stops polling.
    Task.objects.update(status="done")
    assert 'data-polling="true"' not in logged_in.get(url).content.decode()


def test_retry_and_cancel_in_the_wrong_status_say_so(logged_in, service, group):
    task = group.tasks.first()
    Task.objects.filter(pk=task.pk).update(status="done")
    response = logged_in.post(
        reverse("panel:task-cancel", args=[service.name, task.pk]), follow=True
    )
    assert "Seule une tâche planifiée" in response.content.decode()
    assert Task.objects.get(pk=task.pk).status == "done"


def test_address_check_as_you_type(logged_in, service, domain, accounts):
    url = reverse("panel:address-check", args=[service.name])
    free = logged_in.get(url, {"local_part": "free", "domain": domain.pk}, **HTMX)
    assert "free@example.fr" in free.content.decode() and "text-success" in free.content.decode()
    taken = logged_in.get(url, {"local_part": "user0", "domain": domain.pk}, **HTMX)
    assert "déjà utilisée" in taken.content.decode()


@pytest.mark.parametrize("name", ["panel:groups", "panel:tasks"])
def test_lists_run_the_same_queries_for_2_and_300_groups(
    logged_in, service, domain, customer, name, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    members = [make_account(service, f"m{i}") for i in range(50)]

    def add_groups(n, start):
        for i in range(start, start + n):
            services.create_group(
                service,
                user=customer,
                local_part=f"g{i}",
                domain=domain,
                member_accounts=[m.pk for m in members],
            )

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert logged_in.get(reverse(name, args=[service.name])).status_code == 200
        return len(ctx.captured_queries)

    add_groups(2, 0)
    Task.objects.filter(function="addDistributionGroupMember").update(status="done")
    few = queries()
    add_groups(298, 2)
    assert Group.objects.count() == 300
    assert queries() == few


def test_the_pager_keeps_the_search_and_the_filter(logged_in, service, customer, domain):
    """Page 2 of a search is page 2 of the same search (and of the same status filter),
    with the whole page or with htmx."""
    for i in range(26):
        make_group(service, customer, f"sales{i:02d}")
    make_group(service, customer, "other")
    groups = reverse("panel:groups", args=[service.name])
    for headers in ({}, HTMX):
        html = logged_in.get(groups, {"q": "sales"}, **headers).content.decode()
        assert 'href="?q=sales&amp;page=2"' in html
        page2 = logged_in.get(groups, {"q": "sales", "page": 2}, **headers).content.decode()
        assert "sales20@" in page2 and "other@" not in page2
        assert 'href="?q=sales&amp;page=1"' in page2
    tasks = reverse("panel:tasks", args=[service.name])
    html = logged_in.get(tasks, {"status": "done"}).content.decode()
    assert re.search(r'href="\?status=done&amp;page=2&amp;after=[^"]+"', html)


def test_recent_tasks_pages_follow_their_cursor(logged_in, service, customer, domain):
    """Next and Previous carry a cursor (keyset paging): following them shows the same rows
    as the numbered pages, newest first, and a task created meanwhile does not shift them."""
    for i in range(55):
        make_group(service, customer, f"sales{i:02d}")
    tasks = reverse("panel:tasks", args=[service.name])

    def shown(html):
        return re.findall(r'data-label="[^"]* (sales\d+)@', html)

    def link(html, rel):
        label = {"next": "Suivant", "previous": "Précédent"}[rel]
        href = re.search(rf'href="(\?[^"]+)"[^>]*>{label}<', html).group(1)
        return logged_in.get(tasks + href.replace("&amp;", "&")).content.decode()

    newest_first = [f"sales{i:02d}" for i in range(54, -1, -1)]
    page1 = logged_in.get(tasks).content.decode()
    assert shown(page1) == newest_first[:25]
    make_group(service, customer, "latecomer")  # would shift an OFFSET by one row
    page2 = link(page1, "next")
    assert shown(page2) == newest_first[25:50]
    page3 = link(page2, "next")
    assert shown(page3) == newest_first[50:]
    assert "Suivant<" not in page3
    assert shown(link(page3, "previous")) == newest_first[25:50]
    assert shown(link(link(page3, "previous"), "previous")) == newest_first[:25]


def test_the_last_pages_of_the_groups_list_are_in_order(logged_in, service, customer, domain):
    """Pages of the list's second half are read from its end: the rows and their order are
    those of an ordinary page, and "last" is the last page."""
    for i in range(45):
        make_group(service, customer, f"sales{i:02d}")
    groups = reverse("panel:groups", args=[service.name])

    def shown(page):
        html = logged_in.get(groups, {"page": page}).content.decode()
        return re.findall(r'data-label="(sales\d+)@', html)

    assert shown(2) == [f"sales{i:02d}" for i in range(20, 40)]
    assert shown(3) == [f"sales{i:02d}" for i in range(40, 45)]
    assert shown("last") == shown(3)


def test_the_groups_list_reaches_its_middle_pages_by_cursor(
    logged_in, service, customer, domain, monkeypatch
):
    """Next and Previous towards a page deep in the groups list (DEEP rows from either end)
    carry the rows' cursor, and that page is read from it: the same rows as by its number;
    a group created meanwhile before it does not shift it; a cursor that says nothing
    valid reads the page by its number."""
    from exchange_groups.paging import TwoEndedPaginator

    monkeypatch.setattr(TwoEndedPaginator, "DEEP", 40)  # 1,000 rows in production
    for i in range(100):
        make_group(service, customer, f"sales{i:02d}")
    groups = reverse("panel:groups", args=[service.name])

    def get(query):
        html = logged_in.get(groups + query).content.decode()
        links = {
            label: href.replace("&amp;", "&")
            for href, label in re.findall(r'href="(\?[^"]*)"[^>]*>(Suivant|Précédent)<', html)
        }
        return re.findall(r'data-label="(sales\d+)@', html), links

    every = [f"sales{i:02d}" for i in range(100)]
    rows, links = get("?page=2")  # rows 20-40: page 3 (40-60) is deep, page 1 is not
    assert rows == every[20:40]
    to_page3 = links["Suivant"]
    assert "page=3&after=" in to_page3 and "before=" not in links["Précédent"]
    rows, links = get(to_page3)
    assert rows == every[40:60] == get("?page=3")[0]
    assert "Page 3 sur 5" in logged_in.get(groups + to_page3).content.decode()
    assert "after=" not in links["Suivant"]  # page 4 is read from the end, as cheaply
    back = get("?page=4")[1]["Précédent"]
    assert "before=" in back and get(back)[0] == every[40:60]

    make_group(service, customer, "aaa")  # before every row: by number, page 3 moves
    assert get("?page=3")[0] == ["sales39", *every[40:59]]
    assert get(to_page3)[0] == every[40:60]  # by the cursor it followed, it does not

    assert get("?page=3&after=forged")[0] == ["sales39", *every[40:59]]


def test_a_page_far_from_both_ends_is_found_by_walking_the_addresses(
    logged_in, service, customer, domain, monkeypatch
):
    """A page of the groups list far from both ends asked by its number (typed, a bookmark,
    a link) shows its rows, in both halves of the list, found along the addresses' index:
    the groups themselves are read at the row before it, not counted off by an OFFSET
    (which sorted every group of the service)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from exchange_groups.paging import TwoEndedPaginator

    monkeypatch.setattr(TwoEndedPaginator, "DEEP", 30)  # 1,000 rows in production
    monkeypatch.setattr(TwoEndedPaginator, "WALK", 30)  # 200
    for i in range(130):  # 7 pages: 3 to 5 are deep, 3 and 4 in the first half, 5 in the second
        make_group(service, customer, f"sales{i:03d}")
    groups = reverse("panel:groups", args=[service.name])
    every = [f"sales{i:03d}" for i in range(130)]
    for number in range(1, 8):
        with CaptureQueriesContext(connection) as queries:
            html = logged_in.get(groups, {"page": number}).content.decode()
        assert re.findall(r'data-label="(sales\d+)@', html) == every[(number - 1) * 20 :][:20]
        assert f"Page {number} sur 7" in html
        offsets = [
            q["sql"]
            for q in queries
            if "OFFSET" in q["sql"] and "exchange_groups_group" in q["sql"]
        ]
        # 3 to 5 are walked; 2 and 6 are read by a short OFFSET from their end, 1 and 7 by none
        assert bool(offsets) == (number in (2, 6)), number

    # Previous from page 5 leads to page 4 by a cursor, found along the addresses too: a
    # group created meanwhile before every row does not shift the page it shows.
    html = logged_in.get(groups, {"page": 5}).content.decode()
    back = re.search(r'href="(\?[^"]*)"[^>]*>Précédent<', html).group(1).replace("&amp;", "&")
    assert "page=4&before=" in back
    make_group(service, customer, "aaa")
    html = logged_in.get(groups + back).content.decode()
    assert re.findall(r'data-label="(sales\d+)@', html) == every[60:80]
    assert "Page 4 sur 7" in html


def test_the_search_finds_a_group_by_local_part_name_domain_or_whole_address(
    logged_in, service, customer, domain
):
    make_group(service, customer, "sales", display_name="Ventes Europe")
    make_group(service, customer, "support", display_name="Sales support")
    make_group(service, customer, "team", display_name="Team")
    groups = reverse("panel:groups", args=[service.name])

    def found(q):
        html = logged_in.get(groups, {"q": q}).content.decode()
        return sorted(re.findall(r'data-label="([^"@]+)@', html))

    assert found("SALES") == ["sales", "support"]  # the local part or the name, any case
    assert found("europe") == ["sales"]
    assert found("example.fr") == ["sales", "support", "team"]  # the domain
    assert found("team@example") == ["team"]  # the whole address
    assert found("nothing") == []


def test_the_groups_list_orders_the_groups_of_every_domain(logged_in, service, customer, domain):
    """With one domain the list reads that domain's index (queries.in_its_domain); a
    second domain's groups are listed too, in the same order by local part, and found by
    their domain's name."""
    for name in ("sales", "team"):
        make_group(service, customer, name)
    groups = reverse("panel:groups", args=[service.name])

    def shown(**params):
        html = logged_in.get(groups, params).content.decode()
        return re.findall(r'data-label="([^"]+)"', html)

    assert shown() == ["sales@example.fr", "team@example.fr"]
    other = Domain.objects.create(service=service, name="Other.example", state="ok")
    make_group(service, customer, "support", domain=other)
    assert shown() == ["sales@example.fr", "support@Other.example", "team@example.fr"]
    assert shown(q="other.EX") == ["support@Other.example"]


def test_the_accounts_tab_pages_by_cursor_on_every_domain(logged_in, service, domain):
    """The accounts tab follows its cursor page after page, and lists the accounts of each
    of the service's domains (with one domain it reads that domain's index)."""
    for i in range(30):
        make_account(service, f"user{i:02d}")
    accounts = reverse("panel:accounts", args=[service.name])

    def shown(html):
        return re.findall(r"<tr><td>([^<]+@[^<]+)</td>", html)

    page1 = logged_in.get(accounts).content.decode()
    href = re.search(r'href="(\?[^"]*after=[^"]+)"', page1).group(1).replace("&amp;", "&")
    page2 = logged_in.get(accounts + href).content.decode()
    assert shown(page1) + shown(page2) == [f"user{i:02d}@example.fr" for i in range(30)]

    other = Domain.objects.create(service=service, name="other.example")
    make_account(service, "aaa", domain=other)
    assert shown(logged_in.get(accounts).content.decode())[0] == "aaa@other.example"


def test_a_page_typed_deep_in_a_countless_list_shows_its_rows(
    logged_in, service, customer, domain, monkeypatch
):
    """A page number typed in the address, deep in the accounts or the tasks (read from the
    end when in the second half): the rows and the links of that page, as by OFFSET; past
    the end, the first page."""
    from exchange_groups.paging import CountlessPaginator

    monkeypatch.setattr(CountlessPaginator, "DEEP", 20)  # 1,000 rows in production
    for i in range(80):
        make_account(service, f"user{i:02d}")
    for i in range(60):
        make_group(service, customer, f"sales{i:02d}")
    accounts = reverse("panel:accounts", args=[service.name])
    tasks = reverse("panel:tasks", args=[service.name])

    def shown(url, page):
        html = logged_in.get(url, {"page": page}).content.decode()
        rows = re.findall(r"<tr><td>([^<]+@[^<]+)</td>", html) if url == accounts else (
            re.findall(r'data-label="[^"]* (sales\d+)@', html)
        )  # fmt: skip
        return rows, "Suivant<" in html, "Précédent<" in html

    every = [f"user{i:02d}@example.fr" for i in range(80)]
    assert shown(accounts, 2) == (every[25:50], True, True)  # first half
    assert shown(accounts, 3) == (every[50:75], True, True)  # second half: from the end
    assert shown(accounts, 4) == (every[75:], False, True)
    assert shown(accounts, 9) == (every[:25], True, False)  # past the end
    newest_first = [f"sales{i:02d}" for i in range(59, -1, -1)]
    assert shown(tasks, 3) == (newest_first[50:], False, True)
    # With a status filter, the filtered tasks are counted: 40 done, page 2 from the end.
    Task.objects.filter(object_label__in=[f"sales{i:02d}@example.fr" for i in range(20)]).update(
        status="error"
    )
    html = logged_in.get(tasks, {"page": 2, "status": "done"}).content.decode()
    assert re.findall(r'data-label="[^"]* (sales\d+)@', html) == newest_first[25:40]


def test_a_deep_countless_page_is_found_by_walking_its_order_values(
    logged_in, service, customer, domain, monkeypatch
):
    """A page typed deep in the accounts or the tasks is found along their order values
    alone (the domain's addresses, the tasks' index): the listed rows, with their joins or
    their progress, are read at the row before the page, not counted off by an OFFSET
    (PostgreSQL sorted the 50,000 accounts joined to their addresses for it, and computed
    the progress of every task it skipped)."""
    from django.test.utils import CaptureQueriesContext

    from exchange_groups.paging import CountlessPaginator

    monkeypatch.setattr(CountlessPaginator, "DEEP", 20)  # 1,000 rows in production
    for i in range(130):
        make_account(service, f"user{i:03d}")
    for i in range(160):
        make_group(service, customer, f"team{i:03d}")
    every = [f"user{i:03d}@example.fr" for i in range(130)]
    newest_first = [f"team{i:03d}" for i in range(159, -1, -1)]
    # Pages DEEP rows from both ends: in the first half, then in the second.
    lists = [
        ("panel:accounts", r"<tr><td>([^<]+@[^<]+)</td>", every, "exchange_groups_account",
         (2, 3, 4)),
        ("panel:tasks", r'data-label="[^"]* (team\d+)@', newest_first, "exchange_groups_taskitem",
         (2, 3, 5)),
    ]  # fmt: skip
    for name, row, expected, listed, numbers in lists:
        url = reverse(name, args=[service.name])
        for number in numbers:
            with CaptureQueriesContext(connection) as queries:
                html = logged_in.get(url, {"page": number}).content.decode()
            assert re.findall(row, html) == expected[(number - 1) * 25 :][:25], (name, number)
            offsets = [q["sql"] for q in queries if "OFFSET" in q["sql"] and listed in q["sql"]]
            assert not offsets, (name, number)


@pytest.mark.parametrize("few", [100, 5])
def test_a_search_counts_and_pages_its_groups_few_or_many(
    logged_in, service, customer, domain, monkeypatch, few
):
    """A search that finds a few groups is run once, counted and paged from its ids; one
    that finds more is not counted (its count grew with the groups found): it says "more
    than" and pages by Next. The same pages either way."""
    from exchange_groups.views import groups as views

    monkeypatch.setattr(views, "SEARCH_FEW", few)
    for i in range(45):
        make_group(service, customer, f"sales{i:02d}")
    make_group(service, customer, "other")
    groups = reverse("panel:groups", args=[service.name])
    # SQLite runs every search as one condition, counted.
    many = few < 45 and connection.vendor == "postgresql"
    found = "Plus de 5 groupes trouvés" if many else "45 groupes trouvés"

    def shown(query):
        html = logged_in.get(groups + query).content.decode()
        assert found in html
        rows = re.findall(r'data-label="(sales\d+)@', html)
        following = re.search(r'href="(\?[^"]*)"[^>]*>Suivant<', html)
        return rows, following and following.group(1).replace("&amp;", "&")

    every = [f"sales{i:02d}" for i in range(45)]
    rows, following = shown("?q=sales")
    assert rows == every[:20]
    rows, following = shown(following)
    assert rows == every[20:40]
    assert shown(following) == (every[40:], None)
    assert shown("?q=sales&page=3") == (every[40:], None)  # a page typed by its number
    assert shown("?q=sales&page=last") == (every[40:], None)
    # Found by their domain's name: every group.
    by_domain = logged_in.get(groups, {"q": "example.FR"}).content.decode()
    assert ("Plus de 5 groupes trouvés" if many else "46 groupes trouvés") in by_domain
    assert 'data-label="other@' in by_domain


def test_each_rows_menu_leads_to_its_own_group_of_its_own_service_in_the_readers_language(
    logged_in, service, other_service, customer, group
):
    """The "..." menu is rendered once per process and stamped with each row's service and
    group: a second service's list, a group still being created and another language must
    each get their own links and words."""
    other_service.customers.add(customer)
    theirs = make_group(other_service, customer, local_part="board")
    Group.objects.filter(pk=theirs.pk).update(state="creating")
    ours = logged_in.get(reverse("panel:groups", args=[service.name])).content.decode()
    configure = reverse("panel:group-configure", args=[service.name, group.pk])
    assert f'href="{configure}"' in ours and "Configurer le groupe" in ours
    assert "Actions pour team@example.fr" in ours
    html = logged_in.get(reverse("panel:groups", args=[other_service.name])).content.decode()
    assert other_service.name in html and f"/services/{service.name}/" not in html
    export = reverse("panel:group-export", args=[other_service.name, theirs.pk])
    assert f'href="{export}"' in html and "Actions pour board@other.fr" in html
    # Not operational yet: its configuration is offered, but not as a link.
    assert reverse("panel:group-configure", args=[other_service.name, theirs.pk]) not in html
    assert "Disponible quand le groupe est opérationnel." in html
    logged_in.cookies["django_language"] = "en"
    english = logged_in.get(reverse("panel:groups", args=[service.name])).content.decode()
    assert "Configure the group" in english and "Actions for team@example.fr" in english
    assert f'href="{configure}"' in english
