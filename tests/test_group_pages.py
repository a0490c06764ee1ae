"""The pages that run a group after its creation (the "..." menu), the contacts and accounts
tabs and the CSV files, through the test client."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from exchange_groups import services
from exchange_groups.models import (
    Alias,
    Delegation,
    ExternalContact,
    Group,
    GroupManager,
    GroupMember,
    Task,
)

from .conftest import make_account, make_contact, make_group, run_all

pytestmark = pytest.mark.django_db


@pytest.fixture
def group(group, accounts, contacts):
    """The operational group of tests/conftest.py, with a member of each kind and a manager."""
    GroupMember.objects.create(group=group, account=accounts[0])
    GroupMember.objects.create(group=group, contact=contacts[0])
    GroupManager.objects.create(group=group, account=accounts[1])
    return Group.objects.with_overview().get(pk=group.pk)


@pytest.fixture
def owner(client, customer):
    client.force_login(customer)
    return client


@pytest.fixture
def alias(group, customer, domain):
    alias = services.add_alias(group, user=customer, local_part="equipe", domain=domain)
    Alias.objects.filter(pk=alias.pk).update(state="ok")
    return alias


def test_configure_shows_old_and_new_values_then_applies(owner, service, group, domain):
    url = reverse("panel:group-configure", args=[service.name, group.pk])
    form = owner.get(url).context["form"]
    assert form["local_part"].value() == "team" and form["display_name"].value() == "Team"
    data = {"local_part": "equipe", "domain": domain.pk, "display_name": "Équipe",
            "max_receive_size": "", "max_send_size": "25"}  # fmt: skip
    review = owner.post(url, {**data, "action": "review"})
    changes = review.context["changes"]
    assert ("Adresse e-mail", "team@example.fr", "equipe@example.fr") in changes
    assert ("Nom du groupe", "Team", "Équipe") in changes
    assert ("Taille maximale sortante (mo)", "Valeur maximum (100 Mo)", "25 Mo") in changes
    assert not Task.objects.filter(function="setDistributionGroup").exists()
    owner.post(url, {**data, "action": "confirm"})
    task = Task.objects.get(function="setDistributionGroup")
    assert task.params["changes"] == {
        "display_name": "Équipe", "max_send_size": 25, "address": "equipe@example.fr"
    }  # fmt: skip


def test_configure_bad_input_writes_nothing(owner, service, group, domain, accounts):
    url = reverse("panel:group-configure", args=[service.name, group.pk])
    for data, field in [
        ({"local_part": "user2", "max_send_size": ""}, "local_part"),
        ({"local_part": "team", "max_send_size": "0"}, "max_send_size"),
        ({"local_part": "team", "max_send_size": "101"}, "max_send_size"),
        ({"local_part": "a b", "max_send_size": ""}, "local_part"),
    ]:
        data.update(domain=domain.pk, display_name="Team", action="confirm")
        response = owner.post(url, data)
        assert field in response.context["form"].errors, data
    same = owner.post(url, {"local_part": "team", "domain": domain.pk, "display_name": "Team",
                            "action": "review"})  # fmt: skip
    assert "Rien à modifier" in same.content.decode()
    assert not Task.objects.filter(function="setDistributionGroup").exists()


def post_users(client, url, state, **data):
    token = client.get(url).context["token"] if state is None else state
    payload = {"token": token, **data}
    return client.post(url, payload), token


def test_users_page_shows_today_and_submits_only_changes(owner, service, group, accounts, contacts):
    url = reverse("panel:group-users", args=[service.name, group.pk])
    page = owner.get(url)
    rows = {r["address"]: r for r in page.context["rows"]}
    assert rows["user0@example.fr"]["member"] and rows["user1@example.fr"]["manager"]
    # It opens on every domain, external contacts included: the count matches the ticks.
    assert rows["friend0@partner.com"]["member"]
    assert page.context["counts"]["member"] == sum(r["member"] for r in rows.values()) == 2
    # An external contact's administrator box is not offered, and says why.
    html = page.content.decode()
    assert 'disabled aria-label="Un contact externe ne peut pas être administrateur."' in html
    assert "Impossible pour un contact externe" in html
    token = page.context["token"]
    shown = [r["key"] for r in page.context["rows"]]
    # Untick user0, tick user2 as contact; keep the external contact and user1.
    data = {"shown": shown, "member": [f"account:{accounts[2].pk}", f"contact:{contacts[0].pk}"],
            "manager": [f"account:{accounts[1].pk}"]}  # fmt: skip
    owner.post(url, {"token": token, **data, "nav": "refresh"})
    review = owner.post(url, {"token": token, "action": "review"})
    plan = dict(review.context["plan"])
    assert plan == {"deleteDistributionGroupMember": [accounts[0]],
                    "addDistributionGroupMember": [accounts[2]]}  # fmt: skip
    assert not Task.objects.filter(status="todo").exists()  # the review changes nothing
    owner.post(url, {"token": token, "action": "confirm"})
    functions = list(
        Task.objects.filter(status="todo").order_by("pk").values_list("function", flat=True)
    )
    assert functions == ["deleteDistributionGroupMember", "addDistributionGroupMember"]


def test_users_page_counts_pending_tasks_and_a_change_already_made(
    owner, service, group, accounts, contacts, customer
):
    services.add_members(group, user=customer, accounts=[accounts[2].pk])
    services.remove_members(group, user=customer, contacts=[contacts[0].pk])
    url = reverse("panel:group-users", args=[service.name, group.pk])
    page = owner.get(url)
    rows = {r["address"]: r for r in page.context["rows"]}
    # The boxes show the group once its tasks are applied, those rows "in progress".
    assert rows["user2@example.fr"]["member"] and rows["user2@example.fr"]["member_pending"]
    friend = rows["friend0@partner.com"]
    assert not friend["member"] and friend["member_pending"]
    assert rows["user0@example.fr"]["member"] and not rows["user0@example.fr"]["member_pending"]
    assert page.context["counts"] == {"member": 2, "manager": 1}  # user0 and user2; user1
    assert page.context["managers_without_mail"] == ["user1@example.fr"]
    assert "Tâche en cours" in page.content.decode()
    # Untick user0 as a contact: one contact selected; user0 then leaves the group by
    # another way (support): the change already made is not counted twice.
    token = page.context["token"]
    data = {
        "shown": [r["key"] for r in page.context["rows"]],
        "member": [f"account:{accounts[2].pk}"],
        "manager": [f"account:{accounts[1].pk}"],
    }
    page = owner.post(url, {"token": token, **data, "nav": "refresh"})
    assert page.context["counts"]["member"] == 1
    GroupMember.objects.filter(group=group, account=accounts[0]).delete()
    page = owner.post(url, {"token": token, "nav": "refresh"})
    rows = {r["address"]: r for r in page.context["rows"]}
    assert page.context["counts"]["member"] == 1 and not rows["user0@example.fr"]["member"]


def test_users_page_refuses_another_services_account(owner, service, group, other_service):
    stranger = make_account(other_service, "stranger")
    url = reverse("panel:group-users", args=[service.name, group.pk])
    page = owner.get(url)
    token = page.context["token"]
    key = f"account:{stranger.pk}"
    owner.post(url, {"token": token, "shown": [key], "member": [key], "nav": "refresh"})
    response = owner.post(url, {"token": token, "action": "confirm"})
    assert "Choisissez des comptes de ce service." in response.content.decode()
    assert not Task.objects.filter(status="todo").exists()


def test_delegations_exclusive_and_pending_boxes(owner, service, group, accounts, customer):
    url = reverse("panel:group-delegations", args=[service.name, group.pk])
    Delegation.objects.create(group=group, account=accounts[0], kind="send_as")
    services.add_delegations(group, user=customer, kind="send_on_behalf", accounts=[accounts[3].pk])
    page = owner.get(url)
    rows = {r["address"]: r for r in page.context["rows"]}
    assert rows["user0@example.fr"]["send_as"] and not rows["user0@example.fr"]["send_on_behalf"]
    assert rows["user3@example.fr"]["busy"] and rows["user3@example.fr"]["send_on_behalf"]
    html = page.content.decode()
    assert "Exclusif avec l’autre droit" in html and "Tâche en cours" in html
    assert 'disabled aria-label="Impossible avec l’autre droit"' in html
    # Both rights ticked for one account (possible without JavaScript): refused.
    token = page.context["token"]
    key = f"account:{accounts[2].pk}"
    owner.post(url, {"token": token, "shown": [key], "send_as": [key], "send_on_behalf": [key],
                     "nav": "refresh"})  # fmt: skip
    response = owner.post(url, {"token": token, "action": "review"})
    assert "s’excluent" in response.content.decode()
    before = Task.objects.count()
    owner.post(url, {"token": token, "action": "confirm"})
    assert Task.objects.count() == before


def test_delegations_for_another_services_account_are_refused(owner, service, group, other_service):
    stranger = make_account(other_service, "stranger")
    url = reverse("panel:group-delegations", args=[service.name, group.pk])
    token = owner.get(url).context["token"]
    key = f"account:{stranger.pk}"
    owner.post(url, {"token": token, "shown": [key], "send_as": [key], "nav": "refresh"})
    owner.post(url, {"token": token, "action": "confirm"})
    assert not Task.objects.filter(status="todo").exists()


def test_alias_taken_is_refused_at_the_field(owner, service, group, domain, accounts):
    url = reverse("panel:aliases", args=[service.name, group.pk])
    response = owner.post(url, {"local_part": "user0", "domain": domain.pk})
    assert "Cette adresse est déjà utilisée" in response.context["form"].errors["local_part"][0]
    assert not Alias.objects.exists()
    owner.post(url, {"local_part": "equipe", "domain": domain.pk})
    assert Alias.objects.get().state == "creating"


def test_contacts_add_validate_and_delete_naming_groups(owner, service, group, contacts):
    url = reverse("panel:contacts", args=[service.name])
    before = ExternalContact.objects.count()
    for email in ("not-an-address", "friend1@partner.com", "someone@example.fr"):
        response = owner.post(url, {"email": email})
        assert "email" in response.context["form"].errors, email
    assert ExternalContact.objects.count() == before
    owner.post(url, {"email": "new@outside.org", "display_name": "New"})
    assert ExternalContact.objects.filter(email="new@outside.org").exists()
    delete = reverse("panel:contact-delete", args=[service.name, contacts[0].pk])
    assert "team@example.fr" in owner.get(delete).content.decode()
    owner.post(delete)
    assert not ExternalContact.objects.filter(pk=contacts[0].pk).exists()


def test_accounts_and_contacts_tabs_show_the_groups_of_each_row(
    owner, service, group, customer, accounts, contacts
):
    """Each row lists its groups by address (a dash when none), on both tabs."""
    alpha = make_group(service, customer, "alpha")
    GroupMember.objects.create(group=alpha, account=accounts[0])
    GroupMember.objects.create(group=alpha, contact=contacts[0])

    def groups_of(tab, address):
        html = owner.get(reverse(f"panel:{tab}", args=[service.name])).content.decode()
        row = re.search(rf"<tr><td>{re.escape(address)}</td>.*?</tr>", html, re.S).group(0)
        return re.findall(r'<span class="badge[^"]*">([^<]+)</span>', row) or (
            "—" in row and "none"
        )

    assert groups_of("accounts", accounts[0].address.email) == [
        "alpha@example.fr",
        "team@example.fr",
    ]
    assert groups_of("accounts", accounts[2].address.email) == "none"
    assert groups_of("contacts", contacts[0].email) == ["alpha@example.fr", "team@example.fr"]
    assert groups_of("contacts", contacts[1].email) == "none"


def test_groups_csv_export(owner, service, group):
    response = owner.get(reverse("panel:groups-export", args=[service.name]))
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert (
        text.splitlines()[0] == "Nom du groupe;Adresse e-mail;Alias;Administrateurs;Contacts;Statut"
    )
    assert "Team;team@example.fr;0;1;2;Opérationnel" in text


def test_members_csv_export_writes_each_address(owner, service, group):
    # An external contact has no account: its address was once written as "@".
    response = owner.get(reverse("panel:group-export", args=[service.name, group.pk]))
    rows = [line.split(";") for line in b"".join(response.streaming_content).decode(
        "utf-8-sig").splitlines()[1:]]  # fmt: skip
    assert sorted(row[0] for row in rows) == [
        "friend0@partner.com", "user0@example.fr", "user1@example.fr"
    ]  # fmt: skip
    contact = next(row for row in rows if row[0] == "friend0@partner.com")
    assert contact[2:] == ["Contact externe", "non", "oui"]


def test_import_preview_and_result(owner, service, group, accounts, contacts):
    url = reverse("panel:group-import", args=[service.name, group.pk])
    csv = "email\nuser2@example.fr\nnew.person@outside.org\nnot an address\nuser0@example.fr\n"
    upload = SimpleUploadedFile("list.csv", csv.encode(), content_type="text/csv")
    response = owner.post(url, {"file": upload})
    preview = response.context["preview"]
    assert [(a.pk, a.label) for a in preview.accounts] == [(accounts[2].pk, "user2@example.fr")]
    assert "<li>user2@example.fr <span" in response.content.decode()
    assert preview.unknown == ["new.person@outside.org"]
    assert ("not an address", "Adresse e-mail non valide.") in preview.refused
    assert ("user0@example.fr", "Déjà membre du groupe.") in preview.refused
    token = owner.post(url, {"file": SimpleUploadedFile("l.csv", csv.encode())}).context["token"]
    owner.post(url, {"token": token, "action": "confirm", "create_unknown": "1"})
    task = Task.objects.get(status="todo")
    assert task.function == "addDistributionGroupMember"
    assert sorted(task.items.values_list("label", flat=True)) == [
        "new.person@outside.org", "user2@example.fr"
    ]  # fmt: skip


def test_import_bad_file_writes_nothing(owner, service, group):
    url = reverse("panel:group-import", args=[service.name, group.pk])
    assert "file" in owner.post(url, {}).context["form"].errors
    binary = SimpleUploadedFile("x.csv", b"\x00\x01\x02")
    assert "file" in owner.post(url, {"file": binary}).context["form"].errors
    assert not Task.objects.filter(status="todo").exists()


def test_member_export_of_10000_streams_and_matches_the_database(owner, service, group, domain):
    import tracemalloc

    from exchange_groups.models import Account, Address

    addresses = Address.objects.bulk_create(
        [Address(domain=domain, local_part=f"m{i:05d}", kind="account") for i in range(10_000)]
    )
    people = Account.objects.bulk_create(
        [
            Account(service=service, address=a, display_name=f"M {i}")
            for i, a in enumerate(addresses)
        ]
    )
    GroupMember.objects.filter(group=group).delete()
    GroupMember.objects.bulk_create([GroupMember(group=group, account=p) for p in people])
    response = owner.get(reverse("panel:group-export", args=[service.name, group.pk]))
    assert response.streaming
    tracemalloc.start()
    lines, peak_after_first = 0, None
    for chunk in response.streaming_content:
        lines += chunk.count(b"\n")
        if lines == 1001:
            peak_after_first = tracemalloc.get_traced_memory()[1]
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert lines == 1 + 10_000 + 1  # header, members, the administrator who is not a member
    # Memory stays flat: the last 9,000 rows cost little more than the first 1,000.
    assert peak < peak_after_first * 2
    print(f"\nmember export: peak {peak / 1024:.0f} KiB after 10,000 rows "
          f"({peak_after_first / 1024:.0f} KiB after 1,000)")  # fmt: skip


@pytest.mark.parametrize("name", ["panel:group-users", "panel:group-delegations"])
def test_member_and_delegation_pages_queries_do_not_grow(owner, service, group, domain, name):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from exchange_groups.models import Account, Address

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            assert owner.get(reverse(name, args=[service.name, group.pk])).status_code == 200
        return len(ctx.captured_queries)

    def add(n, start):
        addresses = Address.objects.bulk_create(
            [
                Address(domain=domain, local_part=f"q{i}", kind="account")
                for i in range(start, start + n)
            ]
        )
        Account.objects.bulk_create([Account(service=service, address=a) for a in addresses])

    add(15, 0)
    few = queries()
    add(4985, 15)
    assert Account.objects.filter(service=service).count() == 5005
    assert queries() == few


def drafts(client, kind):
    return [k for k, _value in client.session.items() if k.startswith(f"draft:{kind}:")]


def test_abandoned_editing_pages_do_not_fill_the_session(owner, service, group, customer):
    url = reverse("panel:group-users", args=[service.name, group.pk])
    # A page only viewed writes nothing; its first post starts its draft.
    viewed = owner.get(url)
    assert "sessionid" not in viewed.cookies and not drafts(owner, "users")
    assert owner.post(url, {"token": viewed.context["token"], "nav": "refresh"}).status_code == 200
    tokens = [owner.get(url).context["token"] for _ in range(6)]
    for token in tokens:
        assert owner.post(url, {"token": token, "nav": "refresh"}).status_code == 200
    assert len(drafts(owner, "users")) == 3
    # The latest pages still work; the oldest answers "expired" and starts again.
    assert owner.post(url, {"token": tokens[-1], "nav": "refresh"}).status_code == 200
    assert owner.post(url, {"token": tokens[0], "nav": "refresh"}).status_code == 302
    # The rule holds across groups (pages of many groups once left a draft each), and a
    # token is good for its own group only.
    other = make_group(service, customer, "other")
    other_url = reverse("panel:group-users", args=[service.name, other.pk])
    for _ in range(4):
        token = owner.get(other_url).context["token"]
        owner.post(other_url, {"token": token, "nav": "refresh"})
    assert len(drafts(owner, "users")) == 3
    assert owner.post(other_url, {"token": tokens[-1], "nav": "refresh"}).status_code == 302
    # A page opened before drafts were dropped may have been one of them: expired too.
    assert owner.post(url, {"token": viewed.context["token"], "nav": "refresh"}).status_code == 302


def test_a_confirmed_page_posted_again_has_expired(owner, service, group, accounts):
    url = reverse("panel:group-users", args=[service.name, group.pk])
    token, key = owner.get(url).context["token"], f"account:{accounts[2].pk}"
    owner.post(url, {"token": token, "shown": [key], "member": [key], "nav": "refresh"})
    assert owner.post(url, {"token": token, "action": "confirm"}).status_code == 302
    tasks = Task.objects.count()
    again = owner.post(url, {"token": token, "action": "confirm"}, follow=True)
    assert "expiré" in again.content.decode() and Task.objects.count() == tasks


def test_history_shows_settings_as_the_settings_page_does(owner, service, group, customer):
    services.update_group(group, user=customer, max_send_size=25, hidden_from_gal=True)
    run_all()
    html = owner.get(reverse("panel:group-history", args=[service.name, group.pk])).content
    text = html.decode()
    assert "Taille maximale sortante (mo): Valeur maximum (100 Mo) → 25 Mo" in text
    assert "Non → Oui" in text


def test_history_reads_its_page_of_a_long_trail(owner, service, customer, domain):
    """Historique shows a group's entries newest first, 30 a page, and a page costs the
    same queries whatever the length of the trail: it reads its own entries only, and does
    not count them (Next is offered while entries follow)."""
    accounts = [make_account(service, f"member{i:02d}") for i in range(70)]
    shorter = make_group(
        service, customer, "shorter", applied=True, member_accounts=[a.pk for a in accounts[:35]]
    )
    longer = make_group(
        service, customer, "longer", applied=True, member_accounts=[a.pk for a in accounts]
    )

    def history(group, number=1):
        url = reverse("panel:group-history", args=[service.name, group.pk])
        with CaptureQueriesContext(connection) as ctx:
            response = owner.get(url, {"page": number})
        assert ("Suivant<" in response.content.decode()) == response.context["page"].has_next()
        return response.context["page"], len(ctx.captured_queries)

    first, queries = history(longer)
    assert queries == history(shorter)[1]
    assert len(first.object_list) == 30 and first.has_next()
    dates = [entry.when for entry in first.object_list]
    assert dates == sorted(dates, reverse=True)
    pages = [first, history(longer, 2)[0], history(longer, 3)[0]]
    assert pages[1].has_next() and not pages[2].has_next()
    said = [entry.what for page in pages for entry in page.object_list]
    added = [what for what in said if what.startswith("Contact ajouté")]
    assert len(added) == len(set(added)) == 70
    assert said[-1] == "Groupe créé"
    # A page past the end (a bookmark of a longer trail) shows the first.
    assert history(longer, 9)[0].object_list == first.object_list


def test_history_names_each_part_of_the_group_by_its_address(owner, service, group, customer):
    """Each entry of the trail names who or what changed: an account, an external contact,
    an administrator, a right (with its kind) and an alias, by their addresses."""
    member, manager = make_account(service, "anna"), make_account(service, "boss")
    contact = make_contact(service, "ext@partner.example")
    services.add_members(group, user=customer, accounts=[member.pk], contacts=[contact.pk])
    services.add_managers(group, user=customer, accounts=[manager.pk])
    services.add_delegations(group, user=customer, kind="send_as", accounts=[member.pk])
    services.add_alias(group, user=customer, local_part="ventes", domain=group.address.domain)
    run_all()
    html = owner.get(reverse("panel:group-history", args=[service.name, group.pk])).content
    text = html.decode()
    assert "Contact ajouté : anna@example.fr" in text
    assert "Contact ajouté : ext@partner.example" in text
    assert "Administrateur ajouté : boss@example.fr" in text
    assert re.search(r"Droit accordé : anna@example\.fr \([^)]+\)", text)
    assert "Alias ajouté : ventes@example.fr" in text
