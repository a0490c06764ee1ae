"""Tester l'envoi / Test sending, through the test client: the verdict and its reason with
the setting linked; every field checked with a message next to it; another customer's group
is a 404; with the directory platform, a message really sent and found in its mailboxes."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from exchange_groups import sending
from exchange_groups.models import Delegation, GroupManager, GroupMember
from tests.postfix import PASSWORD
from tests.test_mail_rules import make_group

from .conftest import make_account, make_contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(service, domain):
    ann, bob = make_account(service, "ann"), make_account(service, "bob")
    group = make_group(service, domain)
    GroupMember.objects.create(group=group, account=ann)
    GroupMember.objects.create(group=group, contact=make_contact(service, "friend@partner.com"))
    GroupManager.objects.create(group=group, account=bob)
    group.ann, group.bob = ann, bob
    return group


@pytest.fixture
def owner(client, customer):
    client.force_login(customer)
    return client


def url(group):
    return reverse("panel:group-sending-test", args=[group.service.name, group.pk])


def post(client, group, **data):
    form = {"size_kb": "20", "mode": "own", "action": "check", **data}
    return client.post(url(group), form)


def test_the_menu_offers_it_and_the_page_answers_who_receives(owner, team):
    groups = owner.get(reverse("panel:groups", args=[team.service.name]))
    assert url(team) in groups.content.decode()
    page = post(owner, team, external_address="someone@outside.example")
    html = page.content.decode()
    assert "Distribué à 2 destinataires." in html
    assert "ann@example.fr" in html and "friend@partner.com" in html
    assert "bob@example.fr" not in html.split('id="verdict"')[1]  # administrator only


def test_a_refusal_names_its_reason_and_links_the_setting(owner, team):
    team.sender_authentication = True
    team.save()
    html = post(owner, team, external_address="someone@outside.example").content.decode()
    assert "Refusé." in html
    assert "Le groupe n’accepte que les expéditeurs de la plateforme qui s’authentifient." in html
    configure = reverse("panel:group-configure", args=[team.service.name, team.pk])
    assert f'<a href="{configure}">Authentification requise</a>' in html
    # The same sender authenticated as an account gets through.
    html = post(owner, team, account=team.bob.pk, authenticated="on").content.decode()
    assert "Distribué à 2 destinataires." in html


def test_send_on_behalf_without_the_right_links_the_delegations(owner, team):
    html = post(owner, team, account=team.bob.pk, authenticated="on", mode="send_on_behalf")
    html = html.content.decode()
    delegations = reverse("panel:group-delegations", args=[team.service.name, team.pk])
    assert f'<a href="{delegations}">Droit d’envoyer de la part</a>' in html
    Delegation.objects.create(group=team, account=team.bob, kind="send_on_behalf")
    html = post(owner, team, account=team.bob.pk, authenticated="on", mode="send_on_behalf")
    assert "Distribué à 2 destinataires." in html.content.decode()


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({}, "external_address", "Choisissez un compte ou saisissez une adresse externe."),
        ({"external_address": "not-an-address"}, "external_address",
         "Saisissez une adresse e-mail valide"),
        ({"external_address": "x@outside.example", "authenticated": "on"}, "authenticated",
         "Seul un compte de la plateforme peut s’authentifier."),
        ({"external_address": "x@outside.example", "mode": "send_as"}, "mode",
         "Seul un compte du service peut détenir ce droit."),
        ({"external_address": "x@outside.example", "size_kb": "0"}, "size_kb",
         "Saisissez au moins 1 Ko."),
        ({"external_address": "x@outside.example", "size_kb": "abc"}, "size_kb",
         "Saisissez un nombre entier de Ko."),
        ({"external_address": "ann@example.fr"}, "external_address",
         "Cette adresse est un compte du service : choisissez-le dans la liste."),
        ({"account": "999999"}, "account", "Choisissez l’un des comptes de ce service."),
    ],
)  # fmt: skip
def test_each_field_is_checked_with_a_message_next_to_it(owner, team, data, field, message):
    page = post(owner, team, **data)
    form = page.context["form"]
    assert any(message in error for error in form.errors[field]), form.errors
    # Shown under its field (crispy's invalid-feedback of that input).
    html = page.content.decode()
    field_html = html.split(f'id="div_id_{field}"')[1].split('id="div_id_')[0]
    assert message in field_html
    assert "verdict" not in page.context


def test_another_customers_group_is_a_404(client, team, other_service):
    stranger = get_user_model().objects.create_user("mallory", password="mallory-pass-1")
    other_service.customers.add(stranger)
    client.force_login(stranger)
    assert client.get(url(team)).status_code == 404
    assert post(client, team, external_address="x@outside.example").status_code == 404


def test_in_english_too(owner, team):
    owner.post("/i18n/setlang/", {"language": "en", "next": "/"})
    team.max_receive_size = 1
    team.save()
    html = post(owner, team, external_address="x@outside.example", size_kb="1025")
    html = html.content.decode()
    assert "Test sending" in html
    assert "The message is larger than the largest message the group receives." in html
    assert "Maximum receive size" in html


def test_really_sending_shows_where_it_landed(owner, team, mail, settings):
    for name, value in mail.server.settings.items():
        setattr(settings, name, value)
    mail.publish(team)
    assert sending.real_sending_available()

    page = post(owner, team, account=team.bob.pk, authenticated="on", password=PASSWORD,
                action="send")  # fmt: skip
    sent = page.context["sent"]
    assert sent.accepted and sent.mailboxes == ["ann@example.fr"], sent
    assert sent.relayed == ["friend@partner.com"]
    assert "ann@example.fr" in page.content.decode().split('id="real-send"')[1]

    team.sender_authentication = True
    team.save()
    mail.directory.modify(
        mail.group_dn(team.email), [(2, "exgSenderAuthenticationRequired", [b"TRUE"])]
    )
    page = post(owner, team, external_address="x@outside.example", action="send")
    assert not page.context["sent"].accepted
    assert "550 5.7.1" in page.context["sent"].smtp_reply
    assert "authenticated senders" in page.content.decode()
    # A real send of an authenticated account needs its password, said next to the field.
    page = post(owner, team, account=team.bob.pk, authenticated="on", action="send")
    assert page.context["form"].errors["password"]


def test_a_group_missing_from_the_directory_is_an_unknown_recipient(owner, team, mail, settings):
    """Deleted behind the panel's back: the simulator says what the mail server says."""
    for name, value in mail.server.settings.items():
        setattr(settings, name, value)
    mail.publish(team)
    mail.directory.delete(mail.group_dn(team.email))
    page = post(owner, team, external_address="x@outside.example", action="send")
    html = page.content.decode()
    assert "La plateforme ne connaît pas cette adresse" in html
    assert page.context["verdict"].refusal.smtp_code == "550 5.1.1"
    assert page.context["sent"].smtp_reply.startswith("550 5.1.1")


def test_the_directory_unreachable_is_said_plainly(owner, team, directory):
    directory.stop_server()
    page = post(owner, team, external_address="x@outside.example")
    assert page.status_code == 200
    assert "La plateforme est injoignable ; réessayez dans un instant." in page.content.decode()
    assert "verdict" not in page.context
