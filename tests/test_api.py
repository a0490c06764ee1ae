"""The REST API: tokens, the OVHcloud-shaped endpoints, errors, rate limits."""

import json
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from exchange_groups.models import ApiToken, Group, GroupMember, Task

from .conftest import make_account

pytestmark = pytest.mark.django_db

BASE = "/api/1.0/email/exchange/hosted-ab12345/service/hosted-ab12345-1"


@pytest.fixture
def token(customer, service):
    return ApiToken.issue(customer, "script")[1]


class Api:
    def __init__(self, client, token):
        self.client, self.headers = client, {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def __call__(self, method, path, body=None, **headers):
        url = path if path.startswith("/") else f"{BASE}/{path}"
        kwargs = {**self.headers, **headers}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        return getattr(self.client, method)(url, **kwargs)


@pytest.fixture
def api(client, token):
    return Api(client, token)


@pytest.fixture
def group(group, accounts):
    """The operational group of tests/conftest.py, with user0 as its member."""
    GroupMember.objects.create(group=group, account=accounts[0])
    return group


def test_token_page_creates_shows_once_and_revokes(client, customer):
    client.force_login(customer)
    page = client.post(reverse("panel:api-tokens"), {"name": "deploy"})
    raw = page.context["created"]
    assert raw.startswith("exg_") and raw in page.content.decode()
    token = ApiToken.objects.get()
    assert token.key_hash != raw and raw not in token.key_hash  # stored hashed
    assert raw not in client.get(reverse("panel:api-tokens")).content.decode()
    assert "name" in client.post(reverse("panel:api-tokens"), {"name": ""}).context["form"].errors
    client.post(reverse("panel:api-token-revoke", args=[token.pk]))
    assert ApiToken.objects.get().revoked_at is not None


def test_mailing_list_read_and_filter(api, group):
    assert api("get", "mailingList").json() == ["team@example.fr"]
    assert api("get", "mailingList?mailingListAddress=zzz").json() == []
    body = api("get", "mailingList/team@example.fr").json()
    assert body["mailingListAddress"] == "team@example.fr"
    assert body["state"] == "ok" and body["joinRestriction"] == "closed"
    assert body["taskPendingId"] is None and "creationDate" in body
    assert api("get", "mailingList/team@example.fr/member/account").json() == [
        group.members.get().account_id
    ]


def test_create_returns_the_task_and_rules_answer_with_the_field(api, service, accounts):
    created = api("post", "mailingList", {"mailingListAddress": "sales@example.fr",
                                          "displayName": "Sales", "maxSendSize": 10})  # fmt: skip
    assert created.status_code == 201
    task = created.json()
    assert task["function"] == "addDistributionGroup" and task["status"] == "todo"
    assert api("get", f"task/{task['id']}").json()["id"] == task["id"]
    taken = api("post", "mailingList", {"mailingListAddress": "user0@example.fr"})
    assert taken.status_code == 409
    assert taken.json()["class"] == "Client::Conflict::AddressAlreadyUsed"
    assert taken.json()["field"] == "mailingListAddress"
    before = Task.objects.count()
    for body, field in [
        ({"mailingListAddress": "not an address"}, "mailingListAddress"),
        ({"mailingListAddress": "x@unknown-domain.org"}, "mailingListAddress"),
        ({"mailingListAddress": "big@example.fr", "maxReceiveSize": 101}, "maxReceiveSize"),
        ({"mailingListAddress": "open@example.fr", "joinRestriction": "open"}, "joinRestriction"),
        ({}, "mailingListAddress"),
    ]:
        response = api("post", "mailingList", body)
        assert response.status_code == 400, body
        assert response.json()["field"] == field, response.json()
        assert set(response.json()) == {"class", "message", "field"}
    assert Task.objects.count() == before


def test_sub_resources_return_tasks(api, group, accounts, contacts):
    base = "mailingList/team@example.fr"
    answered = set()
    for path, body in [
        ("member/account", {"memberAccountId": accounts[1].pk}),
        ("member/contact", {"memberContactId": contacts[0].pk}),
        ("manager/account", {"managerAccountId": accounts[2].pk}),
        ("sendAs", {"allowedAccountId": accounts[3].pk}),
        ("sendOnBehalfTo", {"allowedAccountId": accounts[4].pk}),
        ("alias", {"alias": "equipe@example.fr"}),
    ]:
        response = api("post", f"{base}/{path}", body)
        assert response.status_code == 201, (path, response.json())
        answered.add((response.json()["id"], response.json()["function"]))
    functions = set(Task.objects.filter(status="todo").values_list("function", flat=True))
    # Each answer is the task the request made.
    assert answered == set(Task.objects.filter(status="todo").values_list("pk", "function"))
    assert functions == {
        "addDistributionGroupMember", "addDistributionGroupManager", "addDistributionGroupSendAs",
        "addDistributionGroupSendOnBehalfTo", "addDistributionGroupAlias",
    }  # fmt: skip
    member = api("get", f"{base}/member/account/{accounts[0].pk}").json()
    assert member == {"id": accounts[0].pk, "emailAddress": "user0@example.fr"}
    assert api("delete", f"{base}/member/account/{accounts[0].pk}").status_code == 201
    assert api("get", f"{base}/member/account/{accounts[4].pk}").status_code == 404
    exclusive = api("post", f"{base}/sendAs", {"allowedAccountId": accounts[4].pk})
    assert exclusive.status_code == 409 and exclusive.json()["field"] == "allowedAccountId"
    assert api("get", f"{base}/alias").json() == ["equipe@example.fr"]
    assert api("get", "task?status=todo").json()
    assert api("get", "account").json()[0] == "user0@example.fr"
    assert api("get", "externalContact").json()[0] == "friend0@partner.com"


def test_another_customers_service_and_group_are_404(api, group, other_service, customer):
    stranger = make_account(other_service, "stranger")
    other_base = (
        f"/api/1.0/email/exchange/{other_service.organization_name}/service/{other_service.name}"
    )
    for path in ["mailingList", "task", "account", "externalContact"]:
        assert api("get", f"{other_base}/{path}").status_code == 404
    assert api("get", "mailingList/nobody@example.fr").status_code == 404
    # Someone else's account cannot be made a member.
    response = api("post", "mailingList/team@example.fr/member/account",
                   {"memberAccountId": stranger.pk})  # fmt: skip
    assert response.status_code == 400 and response.json()["field"] == "memberAccountId"
    # Another customer's token does not reach this service at all.
    intruder = get_user_model().objects.create_user("mallory", password="x-password-1")
    other = Api(api.client, ApiToken.issue(intruder, "x")[1])
    assert other("get", "mailingList").status_code == 404
    assert other("delete", "mailingList/team@example.fr").status_code == 404
    assert Group.objects.get(pk=group.pk).state == "ok"


def test_no_token_or_a_revoked_one_is_401(client, token, group):
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer nope"}, {"HTTP_AUTHORIZATION": "Bearer"}):
        response = client.get(f"{BASE}/mailingList", **headers)
        assert response.status_code == 401
        assert response.json()["class"] == "Client::Unauthorized"
    ApiToken.objects.get().revoke()
    revoked = client.get(f"{BASE}/mailingList", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert revoked.status_code == 401


def test_rate_limit_per_customer_is_a_clear_429(api, group, settings, customer):
    settings.API_RATE_LIMIT = "5/min"
    for _ in range(5):
        assert api("get", "mailingList").status_code == 200
    limited = api("get", "mailingList")
    assert limited.status_code == 429
    assert limited.json()["class"] == "Client::TooManyRequests"
    assert int(limited["Retry-After"]) > 0
    # Another token of the same customer shares the count: more tokens, no more requests.
    fresh = Api(api.client, ApiToken.issue(customer, "other")[1])
    assert fresh("get", "mailingList").status_code == 429
    # Another customer has a count of its own.
    other = get_user_model().objects.create_user("bob", password="bob-password-1")
    assert Api(api.client, ApiToken.issue(other, "x")[1])("get", "task").status_code == 404


def test_bad_tokens_are_limited_per_client_address(client, group, settings):
    settings.API_BAD_TOKEN_RATE_LIMIT = "3/min"
    guesser = f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"  # its own count
    guesses = [
        client.get(
            f"{BASE}/mailingList", HTTP_AUTHORIZATION=f"Bearer exg_guess{i}", REMOTE_ADDR=guesser
        )
        for i in range(4)
    ]
    assert [r.status_code for r in guesses] == [401, 401, 401, 429]
    assert guesses[-1].json()["class"] == "Client::TooManyRequests"
    elsewhere = client.get(
        f"{BASE}/mailingList", HTTP_AUTHORIZATION="Bearer exg_guess", REMOTE_ADDR="192.0.2.7"
    )
    assert elsewhere.status_code == 401


def test_the_api_keeps_serving_when_redis_is_down(api, group, settings):
    """The rate limit cannot be counted: the API answers anyway, and a change asked for
    meanwhile is kept as a task for the workers."""
    from .run_product import free_port

    dead = f"redis://127.0.0.1:{free_port()}/0"
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": dead}
    }
    assert api("get", "mailingList").json() == ["team@example.fr"]
    created = api("post", "mailingList", {"mailingListAddress": "late@example.fr"})
    assert created.status_code == 201, created.content
    assert Task.objects.get(pk=created.json()["id"]).status == "todo"


def test_openapi_description_is_served_and_valid(client):
    from drf_spectacular.validation import validate_schema

    response = client.get("/api/1.0/schema/?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    validate_schema(schema)
    paths = schema["paths"]
    assert (
        "/api/1.0/email/exchange/{organizationName}/service/{exchangeService}/mailingList" in paths
    )
    assert client.get("/api/1.0/docs/").status_code == 200


def test_errors_speak_the_language_asked_for(client, service):
    french = client.get(f"{BASE}/mailingList", HTTP_AUTHORIZATION="Bearer nope")
    assert french.json()["message"] == "Ce jeton est inconnu ou a été révoqué."
    english = client.get(
        f"{BASE}/mailingList", HTTP_AUTHORIZATION="Bearer nope", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert english.json()["message"] == "This token is unknown or has been revoked."


def test_external_contacts_and_task_operations(api, group, contacts):
    created = api("post", "externalContact", {"externalEmailAddress": "new@outside.org",
                                              "displayName": "New"})  # fmt: skip
    assert (
        created.status_code == 201 and created.json()["externalEmailAddress"] == "new@outside.org"
    )
    for body in ({"externalEmailAddress": "nope"}, {"externalEmailAddress": "user0@example.fr"}):
        bad = api("post", "externalContact", body)
        assert bad.status_code == 400 and bad.json()["field"] == "externalEmailAddress"
    assert api("get", "externalContact/new@outside.org").json()["displayName"] == "New"
    assert api("delete", "externalContact/new@outside.org").status_code == 204
    assert api("get", "externalContact/new@outside.org").status_code == 404

    task = api("post", "mailingList/team@example.fr/member/contact",
               {"memberContactId": contacts[1].pk}).json()  # fmt: skip
    retry = api("post", f"task/{task['id']}/retry")
    assert retry.status_code == 409 and retry.json()["class"] == "Client::Conflict"
    cancelled = api("post", f"task/{task['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    Task.objects.filter(pk=task["id"]).update(status="error")
    assert api("post", f"task/{task['id']}/retry").json()["status"] == "todo"
