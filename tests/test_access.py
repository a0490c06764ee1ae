"""Every route of the customer panel and of the API, generated from the URL configuration,
for the owner, another customer and an anonymous user: a new view cannot skip the guard
(exchange_groups/access.py) unnoticed. Another customer's object is a 404, an anonymous
user is sent to the login page (the API answers 401), and nothing answers a 500."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import URLPattern, URLResolver, get_resolver

from exchange_groups.models import (
    Alias,
    ApiToken,
    Delegation,
    ExternalContact,
    Group,
    GroupManager,
    GroupMember,
    Task,
)

from .conftest import make_contact

pytestmark = pytest.mark.django_db

# Routes that are not a customer's objects: reached by anyone (login, health) or by staff.
PUBLIC = ("login/", "logout/", "i18n/", "admin/", "health/", "api/1.0/schema/", "api/1.0/docs/")


def routes(patterns=None, prefix=""):
    """(route, name) of every URL pattern, with its <converter:argument> placeholders."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route, entry.name


CUSTOMER_ROUTES = [r for r, _name in routes() if not r.startswith(PUBLIC)]


@pytest.fixture
def world(service, customer, accounts, contacts, group, other_service):
    """The owner's objects, one of each kind a route can name."""
    GroupMember.objects.create(group=group, account=accounts[0])
    GroupMember.objects.create(group=group, contact=contacts[0])
    GroupManager.objects.create(group=group, account=accounts[1])
    Delegation.objects.create(group=group, account=accounts[2], kind="send_as")
    Delegation.objects.create(group=group, account=accounts[3], kind="send_on_behalf")
    from exchange_groups import services

    alias = services.add_alias(
        group, user=customer, local_part="equipe", domain=group.address.domain
    )
    Alias.objects.filter(pk=alias.pk).update(state="ok")
    task = group.tasks.order_by("pk").first()
    token, raw = ApiToken.issue(customer, "script")
    pk_for = {  # the API's <int:pk> by the collection it follows
        "task": task.pk,
        "member/account": accounts[0].pk,
        "member/contact": contacts[0].pk,
        "manager/account": accounts[1].pk,
        "sendAs": accounts[2].pk,
        "sendOnBehalfTo": accounts[3].pk,
    }
    return {
        "service": service.name,
        "organizationName": service.organization_name,
        "exchangeService": service.name,
        "group": group.pk,
        "group_id": group.pk,
        "mailingListAddress": group.email,
        "alias": alias.pk,
        "alias_address": alias.address.email,
        "contact": contacts[1].pk,
        "externalEmailAddress": contacts[1].email,
        "task": task.pk,
        "token": token.pk,
        "wizard": "abcdefgh",
        "pk_for": pk_for,
        "raw_token": raw,
        "objects": (group, alias, task, contacts[1], token),
    }


def url_for(route: str, values: dict) -> str:
    def value(match):
        name = match.group(2)
        if name == "pk":
            collection = (
                route[: match.start()].rstrip("/").split("mailingList/<str:mailingListAddress>/")
            )
            key = collection[-1] if len(collection) > 1 else "task"
            return str(
                values["pk_for"][key.removesuffix("/")] if "/task/" not in route else values["task"]
            )
        if name == "alias" and route.startswith("api/"):
            return values["alias_address"]
        return str(values[name])

    url = "/" + re.sub(r"<(\w+:)?(\w+)>", value, route)
    return url + ("?local_part=x" if "address-check" in route else "")


def is_api(route):
    return route.startswith("api/")


def get(client, route, url, raw_token=None, method="get"):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw_token}"} if raw_token and is_api(route) else {}
    return getattr(client, method)(url, **headers)


def intruder_token(other_service):
    intruder = get_user_model().objects.create_user("mallory", password="x-password-1")
    other_service.customers.add(intruder)
    make_contact(other_service, "someone@elsewhere.org")
    return intruder, ApiToken.issue(intruder, "x")[1]


def test_the_route_list_covers_the_panel_and_the_api():
    assert any(r.startswith("services/") for r in CUSTOMER_ROUTES)
    assert sum(is_api(r) for r in CUSTOMER_ROUTES) >= 20


@pytest.mark.parametrize("route", CUSTOMER_ROUTES)
def test_every_route_is_guarded(client, route, world, customer, other_service):
    url = url_for(route, world)
    client.force_login(customer)
    owner = get(client, route, url, world["raw_token"])
    # The owner reaches it (405 for the routes that only take a POST).
    assert owner.status_code in (200, 302, 405), (url, owner.status_code)

    intruder, raw = intruder_token(other_service)
    client.force_login(intruder)
    names_object = re.search(r"<\w+:(?!wizard)\w+>", route)
    for method in ("get", "post"):
        response = get(client, route, url, raw, method)
        if names_object:
            # Nothing is confirmed either way: 404 whatever the method.
            assert response.status_code in (404, 405) if method == "post" else 404, (url, method)
        else:  # the intruder's own page (their tokens): none of the owner's objects shown
            assert response.status_code in (200, 302, 405), (url, method)
            assert world["service"] not in response.content.decode(), url
    if (
        "<slug:service>" in route
        and names_object.group(0) != "<slug:service>"
        or re.search(r"<\w+:(group|task|alias|contact)>", route)
    ):
        # Their own service with the owner's ids: 404 as well.
        own = url.replace(f"/{world['service']}/", f"/{other_service.name}/", 1)
        if route.endswith("/row/"):
            # The list's polling answers a group it does not find as gone: an empty row.
            assert client.get(own, HTTP_HX_REQUEST="true").content == b"", own
        else:
            answers = {get(client, route, own, raw, m).status_code for m in ("get", "post")}
            assert 404 in answers and answers <= {404, 405}, (own, answers)

    client.logout()
    anonymous = get(client, route, url)
    if is_api(route):
        assert anonymous.status_code == 401, url
    else:
        assert anonymous.status_code == 302 and anonymous.url.startswith("/login/"), url

    group, alias, task, contact, token = world["objects"]
    assert Group.objects.get(pk=group.pk).state == "ok"
    assert Alias.objects.get(pk=alias.pk).state == "ok"
    assert Task.objects.get(pk=task.pk).status == task.status
    assert ExternalContact.objects.filter(pk=contact.pk).exists()
    assert ApiToken.objects.active().filter(pk=token.pk).exists()
