"""The create wizard, step by step, without JavaScript (plain form posts)."""

import pytest
from django.urls import reverse

from exchange_groups.models import Address, Group, Task

from .conftest import make_account, make_contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def wizard(client, customer, service, domain):
    client.force_login(customer)
    start = client.get(reverse("panel:group-create", args=[service.name]))
    assert start.status_code == 302
    return Wizard(client, start.url)


class Wizard:
    def __init__(self, client, url):
        self.client, self.url = client, url
        self.prefix = "create_group_" + url.rstrip("/").rsplit("/", 1)[1]

    def post(self, step, data=None, **extra):
        payload = {f"{self.prefix}-current_step": step}
        for key, value in (data or {}).items():
            payload[key if key in ("nav", "wizard_goto_step") else f"{step}-{key}"] = value
        return self.client.post(self.url, payload, **extra)

    def settings(self, domain, **values):
        data = {"local_part": "team", "domain": domain.pk, "display_name": "Team"}
        data.update(values)
        return self.post("settings", data)


def test_step_one_shows_each_rule_at_its_field_and_writes_nothing(wizard, domain, service):
    make_account(service, "taken")
    for values, field, text in [
        ({"local_part": "taken"}, "local_part", "déjà utilisée"),
        ({"local_part": "bad..part"}, "local_part", "un seul « . » ou « + »"),
        ({"max_receive_size": "0"}, "max_receive_size", "de 1 à 100"),
        ({"max_send_size": "101"}, "max_send_size", "de 1 à 100"),
    ]:
        response = wizard.settings(domain, **values)
        form = response.context["form"]
        assert any(text in m for m in form.errors[field]), (field, form.errors)
        assert f'id="error_1_id_settings-{field}"' in response.content.decode()
    assert not Group.objects.exists() and not Task.objects.exists()


def test_the_locked_options_are_shown_closed_with_the_note(wizard):
    html = wizard.client.get(wizard.url).content.decode()
    assert 'name="settings-join_restriction"' in html and "disabled" in html
    assert "le fournisseur a désactivé cette option" in html


def test_full_run_creates_the_group_with_its_members_and_managers(
    wizard, domain, service, accounts, contacts
):
    assert wizard.settings(domain, max_send_size="20").status_code == 200
    shown = [f"account:{a.pk}" for a in accounts] + [f"contact:{c.pk}" for c in contacts]
    wizard.post(
        "members",
        {
            "shown": shown,
            "member": [f"account:{accounts[0].pk}", f"contact:{contacts[0].pk}"],
            "manager": [f"account:{accounts[1].pk}"],
        },
    )
    summary = wizard.client.get(wizard.url).content.decode()
    assert "team@example.fr" in summary
    assert "user0@example.fr" in summary and "friend0@partner.com" in summary
    assert "user1@example.fr" in summary  # the administrator
    response = wizard.post("confirm", follow=True)
    assert response.redirect_chain[-1][0] == reverse("panel:groups", args=[service.name])
    assert "prise en compte" in response.content.decode()
    group = Group.objects.get()
    assert group.email == "team@example.fr" and group.max_send_size == 20
    assert group.state == "creating"
    members = group.tasks.get(function="addDistributionGroupMember")
    assert {i.label for i in members.items.all()} == {"user0@example.fr", "friend0@partner.com"}
    manager = group.tasks.get(function="addDistributionGroupManager")
    assert [i.label for i in manager.items.all()] == ["user1@example.fr"]


def test_ticks_survive_paging_and_searching(wizard, domain, service):
    people = [make_account(service, f"p{i:02d}") for i in range(25)]
    wizard.settings(domain)
    first_page = [f"account:{p.pk}" for p in people[:10]]
    # Tick one on page 1, go to page 2 and tick one there, then search and untick the first.
    wizard.post("members", {"shown": first_page, "member": [first_page[0]], "nav": "page:2"})
    page2 = wizard.client.get(wizard.url).context["rows"]
    assert page2[0]["address"] == "p10@example.fr"
    wizard.post(
        "members",
        {"shown": [r["key"] for r in page2], "member": [page2[0]["key"]], "nav": "search"},
    )
    wizard.post("members", {"q": "p00", "nav": "search"})
    rows = wizard.client.get(wizard.url).context["rows"]
    assert [r["address"] for r in rows] == ["p00@example.fr"] and rows[0]["member"]
    response = wizard.post("members", {"shown": [rows[0]["key"]], "member": [], "nav": "refresh"})
    assert "1 contact sélectionné" in response.content.decode()
    wizard.post("members", {"shown": []})  # next
    assert "p10@example.fr" in wizard.client.get(wizard.url).content.decode()
    assert "p00@example.fr" not in wizard.client.get(wizard.url).content.decode()


def test_an_external_contact_cannot_be_administrator(wizard, domain, service):
    contact = make_contact(service, "ext@partner.com")
    wizard.settings(domain)
    html = wizard.client.get(wizard.url).content.decode()
    assert "Impossible pour un contact externe" in html
    assert f'name="members-manager" value="contact:{contact.pk}"' not in html
    # A forged post is ignored: administrators are accounts only.
    wizard.post(
        "members", {"shown": [f"contact:{contact.pk}"], "manager": [f"contact:{contact.pk}"]}
    )
    wizard.post("confirm", follow=True)
    assert not Task.objects.filter(function="addDistributionGroupManager").exists()


def test_previous_keeps_what_was_entered(wizard, domain, accounts):
    wizard.settings(domain, display_name="Keep me", max_receive_size="42")
    key = f"account:{accounts[2].pk}"
    wizard.post("members", {"shown": [key], "member": [key], "wizard_goto_step": "settings"})
    form = wizard.client.get(wizard.url).context["form"]
    assert form["display_name"].value() == "Keep me" and form["max_receive_size"].value() == "42"
    wizard.settings(domain, display_name="Keep me")
    assert wizard.client.get(wizard.url).context["rows"][2]["member"]


def test_two_wizards_in_two_tabs_do_not_mix(client, customer, service, domain):
    client.force_login(customer)
    urls = [client.get(reverse("panel:group-create", args=[service.name])).url for _ in "ab"]
    assert urls[0] != urls[1]
    one, two = Wizard(client, urls[0]), Wizard(client, urls[1])
    one.settings(domain, local_part="first")
    two.settings(domain, local_part="second")
    assert client.get(one.url).context["wizard"]["steps"].current == "members"
    one.post("members", {"shown": []})
    two.post("members", {"shown": []})
    one.post("confirm")
    two.post("confirm")
    assert sorted(Group.objects.values_list("address__local_part", flat=True)) == [
        "first",
        "second",
    ]


def test_address_taken_between_step_one_and_confirm_goes_back_to_step_one(wizard, domain, service):
    wizard.settings(domain, local_part="race")
    wizard.post("members", {"shown": []})
    Address.objects.create(domain=domain, local_part="race", kind="account")  # someone else
    response = wizard.post("confirm")
    assert response.status_code == 200
    assert response.context["wizard"]["steps"].current == "settings"
    assert "déjà utilisée" in " ".join(response.context["form"].errors["local_part"])
    assert response.context["form"]["display_name"].value() == "Team"
    assert not Group.objects.exists()


def test_htmx_paging_returns_the_picker_only(wizard, domain, service):
    for i in range(12):
        make_account(service, f"h{i:02d}")
    wizard.settings(domain)
    response = wizard.post("members", {"shown": [], "nav": "page:2"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="picker"') and "<html" not in html


def test_abandoned_wizards_do_not_fill_the_session(client, customer, service, domain):
    client.force_login(customer)
    urls = [client.get(reverse("panel:group-create", args=[service.name])).url for _ in range(5)]
    wizards = [Wizard(client, url) for url in urls]
    for n, wizard in enumerate(wizards):
        wizard.settings(domain, local_part=f"w{n}")
    kept = [k for k, _value in client.session.items() if k.startswith("draft:wizard:")]
    assert len(kept) == 3
    # The oldest starts over at step 1; the latest goes on where it was left.
    assert client.get(urls[0]).context["wizard"]["steps"].current == "settings"
    assert client.get(urls[-1]).context["wizard"]["steps"].current == "members"
    wizards[-1].post("members", {"shown": []})
    wizards[-1].post("confirm")
    assert Group.objects.get().address.local_part == "w4"
    assert not [k for k, _value in client.session.items() if k.endswith(wizards[-1].prefix)]
