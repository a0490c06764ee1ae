"""What resists abuse around the pages: login throttling, the Content-Security-Policy,
and methods a page does not take. (The health endpoint: tests/test_production.py.)"""

import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def lockout(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 5


@pytest.mark.parametrize("url", ["/login/", "/admin/login/"])
def test_wrong_passwords_lock_the_login_out(client, lockout, url):
    get_user_model().objects.create_user(
        "carol", password="carol-password-1", is_staff=True, is_superuser=True
    )
    answers = [
        client.post(url, {"username": "carol", "password": "guess"}).status_code for _ in range(5)
    ]
    assert answers == [200, 200, 200, 200, 429]  # the form again with its error, then locked
    locked = client.post(url, {"username": "carol", "password": "carol-password-1"})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    # Another user, or the same from elsewhere, is not locked out.
    other = get_user_model().objects.create_user("dave", password="dave-password-1")
    assert other.pk
    assert (
        client.post("/login/", {"username": "dave", "password": "dave-password-1"}).status_code
        == 302
    )


def test_behind_the_proxy_a_lockout_is_for_the_client_address_only(client, lockout, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    get_user_model().objects.create_user("erin", password="erin-password-1")
    # Every request comes from the proxy; the proxy appends the client's address.
    attacker = {"HTTP_X_FORWARDED_FOR": "198.51.100.1, 203.0.113.9"}
    for _ in range(5):
        client.post("/login/", {"username": "erin", "password": "guess"}, **attacker)
    refused = client.post(
        "/login/", {"username": "erin", "password": "erin-password-1"}, **attacker
    )
    assert refused.status_code == 429
    erin = {"HTTP_X_FORWARDED_FOR": "203.0.113.10"}
    assert (
        client.post(
            "/login/", {"username": "erin", "password": "erin-password-1"}, **erin
        ).status_code
        == 302
    )


def test_pages_carry_a_content_security_policy_without_inline_script(client, customer, service):
    client.force_login(customer)
    page = client.get(reverse("panel:groups", args=[service.name]))
    policy = page["Content-Security-Policy"]
    assert (
        "script-src 'self'" in policy
        and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    )
    assert "frame-ancestors 'none'" in policy
    html = page.content.decode()
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"
    assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", html), "inline script"
    assert client.get("/login/")["Content-Security-Policy"] == policy


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_pages_that_only_show_refuse_other_methods(client, customer, service, method):
    client.force_login(customer)
    s = service.name
    for url in (
        "/",
        reverse("panel:services"),
        reverse("panel:service", args=[s]),
        reverse("panel:accounts", args=[s]),
        reverse("panel:group-create", args=[s]),
    ):
        assert getattr(client, method)(url).status_code == 405, url
