"""Bad input gets a clean refusal (a 400 or a message next to the field), never a server
error; exports cannot carry spreadsheet formulas; imports are bounded. Run on PostgreSQL
in CI, where a NUL byte in a query is an error of the database."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError
from django.urls import reverse

from exchange_groups.csvfiles import streamed_csv
from exchange_groups.models import ApiToken, GroupMember, Task

from .conftest import make_group
from .test_api import BASE

pytestmark = pytest.mark.django_db

NUL = "a%00b"
MAX_UPLOAD_LINES = 50_000  # what one preview reads at the most


@pytest.fixture
def group(service, customer, domain, accounts, contacts):
    group = make_group(service, customer, display_name='=HYPERLINK("http://evil.example/","Click")')
    GroupMember.objects.create(group=group, account=accounts[0])
    contacts[0].display_name = "@SUM(A1:A9)"
    contacts[0].save()
    GroupMember.objects.create(group=group, contact=contacts[0])
    return group


@pytest.fixture
def owner(client, customer):
    client.force_login(customer)
    return client


def test_a_nul_byte_in_a_search_or_filter_is_a_400(owner, service, group):
    s = service.name
    for url in (
        reverse("panel:groups", args=[s]) + f"?q={NUL}",
        reverse("panel:contacts", args=[s]) + f"?q={NUL}",
        reverse("panel:accounts", args=[s]) + f"?q={NUL}",
        reverse("panel:tasks", args=[s]) + f"?status={NUL}",
        reverse("panel:groups-export", args=[s]) + f"?q={NUL}",
    ):
        response = owner.get(url)
        assert response.status_code == 400, url
        assert "NUL" in response.content.decode()


def test_the_api_answers_a_nul_byte_with_its_error_shape(client, customer, group):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {ApiToken.issue(customer, 'x')[1]}"}
    for url in (
        f"{BASE}/mailingList?mailingListAddress={NUL}",
        f"{BASE}/task?status={NUL}",
        f"{BASE}/mailingList/te%00am@example.fr",
    ):
        response = client.get(url, **headers)
        assert response.status_code == 400, url
        assert response.json()["class"] == "Client::BadRequest"


def test_json_nested_too_deeply_is_a_400(client, customer, group):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {ApiToken.issue(customer, 'x')[1]}"}
    deep = "[" * 100_000 + "]" * 100_000
    response = client.post(
        f"{BASE}/mailingList", data=deep, content_type="application/json", **headers
    )
    assert response.status_code == 400
    assert response.json()["class"] == "Client::ParseError"  # as for any malformed JSON


def test_address_check_with_a_domain_that_is_not_a_number(owner, service, group):
    url = reverse("panel:address-check", args=[service.name])
    response = owner.get(url, {"local_part": "sales", "domain": "abc"})
    assert response.status_code == 200
    assert "Choisissez un des domaines de ce service." in response.content.decode()


@pytest.mark.parametrize(
    "content",
    [
        b"email\nb\xe9\x81\x8d\x90@example.fr\n",  # neither UTF-8 nor Windows-1252
        bytes(range(256)) * 8,  # a binary file
        b"email\n" + b"x" * 200_000 + b"\n",  # a field over the csv module's limit
        b'email\n"never closed\n' + b"y" * 140_000,
    ],
    ids=["bad-encoding", "binary", "huge-field", "huge-quoted-field"],
)
def test_an_unreadable_import_is_a_message_next_to_the_field(owner, service, group, content):
    url = reverse("panel:group-import", args=[service.name, group.pk])
    response = owner.post(url, {"file": SimpleUploadedFile("list.csv", content)})
    assert response.status_code == 200
    assert response.context["form"].errors["file"] == ["Ce n’est pas un fichier texte CSV."]
    assert not Task.objects.filter(status="todo").exists()


def test_an_import_longer_than_a_preview_reads_is_refused(owner, service, group):
    url = reverse("panel:group-import", args=[service.name, group.pk])
    lines = "".join(f"u{i}@example.fr\n" for i in range(MAX_UPLOAD_LINES + 1))
    response = owner.post(url, {"file": SimpleUploadedFile("list.csv", lines.encode())})
    assert response.context["form"].errors["file"] == ["Le fichier a plus de 50000 lignes."]
    assert "preview" not in response.context


def test_a_preview_past_the_member_limit_says_so_before_confirming(owner, service, group):
    """A file may be longer than a group can hold (current members, duplicates, bad
    lines): it is previewed, and the preview says when confirming would pass the limit
    (the group has two members)."""
    url = reverse("panel:group-import", args=[service.name, group.pk])
    lines = "".join(f"new{i}@outside.example\n" for i in range(12_000))
    response = owner.post(url, {"file": SimpleUploadedFile("list.csv", lines.encode())})
    assert response.context["preview"].unknown[:1] == ["new0@outside.example"]
    assert (
        "Un groupe compte au plus 10000 membres ; celui-ci en aurait 12002."
        in response.content.decode()
    )


def test_import_previews_do_not_pile_up_in_the_session(owner, service, group, customer):
    other = make_group(service, customer, "other")
    tokens = []
    for i, target in enumerate([group, group, other, other, group]):
        url = reverse("panel:group-import", args=[service.name, target.pk])
        upload = SimpleUploadedFile("l.csv", f"n{i}@outside.org\n".encode())
        tokens.append((url, owner.post(url, {"file": upload}).context["token"]))
    kept = [key for key, _value in owner.session.items() if key.startswith("draft:import:")]
    assert len(kept) == 3  # the most recent previews, whatever their group
    url, token = tokens[0]
    response = owner.post(url, {"token": token, "action": "confirm"}, follow=True)
    assert "Cet import avait expiré" in response.content.decode()
    url, token = tokens[-1]
    owner.post(url, {"token": token, "action": "confirm", "create_unknown": "1"})
    assert Task.objects.get(status="todo").items.get().label == "n4@outside.org"
    assert not [key for key, _value in owner.session.items() if key.endswith(f":{token}")]


def test_exports_write_formulas_as_text(owner, service, group):
    groups = owner.get(reverse("panel:groups-export", args=[service.name]))
    text = b"".join(groups.streaming_content).decode()
    assert "'=HYPERLINK" in text and ";=HYPERLINK" not in text and "\n=" not in text
    members = owner.get(reverse("panel:group-export", args=[service.name, group.pk]))
    text = b"".join(members.streaming_content).decode()
    assert ";'@SUM(A1:A9);" in text


def test_api_json_body_with_a_nul_is_a_field_error(client, customer, group):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {ApiToken.issue(customer, 'x')[1]}"}
    body = json.dumps({"mailingListAddress": "sales@example.fr", "displayName": "a\x00b"})
    response = client.post(
        f"{BASE}/mailingList", data=body, content_type="application/json", **headers
    )
    assert response.status_code == 400
    assert response.json()["field"] == "displayName"


def test_an_export_that_fails_part_way_says_so_in_the_file():
    def rows():
        yield ["a@example.fr"]
        raise OperationalError("server closed the connection unexpectedly")

    response = streamed_csv("x.csv", ["Adresse"], rows())
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[1:] == ["a@example.fr", "Export incomplet : une erreur est survenue. Réessayez."]


def test_an_import_preview_costs_the_same_queries_for_10_or_300_lines(owner, service, group):
    """What bounds an import's time: its lines are checked in bulk, not one query each."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("panel:group-import", args=[service.name, group.pk])
    counts = []
    for size in (10, 300):
        lines = "".join(f"new{i}@example.fr\nfar{i}@outside.org\n" for i in range(size))
        with CaptureQueriesContext(connection) as queries:
            response = owner.post(url, {"file": SimpleUploadedFile("l.csv", lines.encode())})
        assert len(response.context["preview"].refused) == size  # not accounts of example.fr
        counts.append(len(queries))
    assert counts[0] == counts[1]


@pytest.mark.parametrize("name", ["panel:group-users", "panel:group-delegations"])
def test_a_forged_box_key_is_ignored(owner, service, group, name):
    url = reverse(name, args=[service.name, group.pk])
    token = owner.get(url).context["token"]
    forged = ["account:abc", "account:", "group:1", "account:99999999999999999999999"]
    columns = ("member", "manager", "send_as", "send_on_behalf")
    response = owner.post(
        url, {"token": token, "shown": forged, **{c: forged for c in columns}, "action": "review"}
    )
    assert response.status_code == 200
    assert "Rien à modifier" in response.content.decode()
