"""axe-core on every page, in both languages, on a desktop and on a phone: no serious or
critical violation, and no page wider than the phone's screen.

The demo data (seed_demo) gives groups and tasks in every state. Each page is checked as
the customer meets it: the wizard's steps and its errors, each "..." page and its summary,
the admin as support staff, the API documentation."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from playwright.sync_api import Error as PlaywrightError

from exchange_groups.management.commands import seed_demo
from exchange_groups.models import Alias, ExchangeService, ExternalContact, Group

from .a11y import DESKTOP, PHONE, new_context, overflow, settled, violations

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(db):
    call_command("seed_demo", any_database=True, stdout=io.StringIO())
    service = ExchangeService.objects.get(name=seed_demo.SERVICE)
    group = Group.objects.get(service=service, address__local_part="direction")
    return {
        "service": service,
        "group": group,
        "alias": Alias.objects.filter(group=group).first(),
        "contact": ExternalContact.objects.filter(service=service).first(),
        "customer": get_user_model().objects.get(username=seed_demo.LOGIN[0]),
        "support": get_user_model().objects.get(username=seed_demo.SUPPORT_LOGIN[0]),
    }


def customer_pages(demo, language):
    """(name, how to reach it): a URL, or a function of the page for what needs clicks."""
    s = f"/services/{demo['service'].name}"
    g = f"{s}/groups/{demo['group'].pk}"
    submit = "#wizard-form button[type=submit]"

    def wizard_error(page):
        page.goto(f"{s}/groups/new/")
        page.locator("[name='settings-local_part']").fill("a..b")
        page.locator(submit).click()
        page.locator(".is-invalid").first.wait_for()

    def wizard_members(page):
        page.locator("[name='settings-local_part']").fill("nouveau-groupe")
        page.locator(submit).click()
        page.locator("#picker").wait_for()
        page.locator(".pick[name='members-member']").first.check()
        settled(page)

    def wizard_summary(page):
        page.locator(submit).click()
        page.locator("#summary-address").wait_for()

    def review(url):
        def go(page):
            page.goto(url)
            page.locator(".pick").first.check()
            settled(page)
            page.locator("button[name=action][value=review]").click()
            page.locator(".plan-list").first.wait_for()

        return go

    def configure_summary(page):
        page.goto(f"{g}/settings/")
        page.locator("[name='display_name']").fill("Comité")
        page.locator("button[name=action][value=review]").click()
        page.locator("#changes").wait_for()

    def import_preview(page, tmp=None):
        page.goto(f"{g}/import/")
        page.locator("input[type=file]").set_input_files(
            files=[{"name": "a.csv", "mimeType": "text/csv",
                    "buffer": b"adresse\ninconnu@dehors.org\npas une adresse\n"}]
        )  # fmt: skip
        page.locator("form button.btn-primary").click()
        page.locator("#preview").wait_for()

    def new_token(page):
        page.goto("/api-tokens/")
        page.locator("[name=name]").fill("script")
        page.locator("form button.btn-primary").click()
        page.locator("#new-token").wait_for()

    def sending_verdict(page):
        page.goto(f"{g}/sending-test/")
        page.locator("[name=external_address]").fill("quelqu.un@dehors.org")
        page.locator("button[name=action][value=check]").click()
        page.locator("#verdict").wait_for()

    def api_docs(page):
        page.goto("/api/1.0/docs/")
        page.locator(".opblock, .api-content").first.wait_for()

    return [
        ("services", "/services/"),
        ("service", f"{s}/"),
        ("accounts", f"{s}/accounts/"),
        ("contacts", f"{s}/contacts/"),
        ("contact-delete", f"{s}/contacts/{demo['contact'].pk}/delete/"),
        ("groups", f"{s}/groups/"),
        ("wizard-settings", f"{s}/groups/new/"),
        ("wizard-error", wizard_error),
        ("wizard-members", wizard_members),
        ("wizard-summary", wizard_summary),
        ("configure", f"{g}/settings/"),
        ("configure-summary", configure_summary),
        ("users", f"{g}/users/"),
        ("users-summary", review(f"{g}/users/")),
        ("delegations", f"{g}/delegations/"),
        ("delegations-summary", review(f"{g}/delegations/")),
        ("aliases", f"{g}/aliases/"),
        ("alias-delete", f"{g}/aliases/{demo['alias'].pk}/delete/"),
        ("import", f"{g}/import/"),
        ("import-preview", import_preview),
        ("history", f"{g}/history/"),
        ("delete", f"{g}/delete/"),
        ("sending-test", f"{g}/sending-test/"),
        ("sending-verdict", sending_verdict),
        ("tasks", f"{s}/tasks/"),
        ("api-tokens", "/api-tokens/"),
        ("api-token-created", new_token),
    ] + ([("api-docs", api_docs)] if language == "en" else [])  # in English only


def support_pages(demo, language):
    task = demo["group"].tasks.order_by("pk").first()
    return [
        ("admin", "/admin/"),
        ("admin-groups", "/admin/exchange_groups/group/"),
        ("admin-group", f"/admin/exchange_groups/group/{demo['group'].pk}/change/"),
        ("admin-tasks", "/admin/exchange_groups/task/"),
        ("admin-task", f"/admin/exchange_groups/task/{task.pk}/change/"),
    ]


def check(page, pages, viewport) -> dict[str, list[str]]:
    found = {}
    for name, reach in pages:
        try:
            reach(page) if callable(reach) else page.goto(reach)
            settled(page)
        except PlaywrightError as error:  # a page that cannot be used says so, the rest go on
            found[name] = [f"not usable: {error.message.splitlines()[0]}"]
            continue
        problems = violations(page)
        if viewport == PHONE and (extra := overflow(page, PHONE["width"])) > 0:
            problems.append(f"{extra} px wider than the screen")
        if problems:
            found[name] = problems
    return found


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_page_passes_axe_and_fits(browser, live_server, demo, language, viewport):
    found = {}
    for user, pages in ((demo["customer"], customer_pages), (demo["support"], support_pages)):
        context = new_context(browser, live_server.url, language, viewport, user)
        try:
            found.update(check(context.new_page(), pages(demo, language), viewport))
        finally:
            context.close()
    report = "\n".join(f"{name}: " + "; ".join(problems) for name, problems in found.items())
    assert not found, f"{sum(map(len, found.values()))} problems on {len(found)} pages:\n{report}"
