"""The panel with the keyboard alone, and the "..." menu on the last row of a full page:
where focus goes after each step, tick and error, and that every menu item can be
reached on a desktop and on a phone."""

import re

import pytest
from playwright.sync_api import expect

from exchange_groups import services
from exchange_groups.models import Delegation, Group, Task

from ..conftest import make_account
from .a11y import DESKTOP, PHONE, new_context, settled, violations

pytestmark = pytest.mark.django_db(transaction=True)


def operational(group):
    """As if a worker had applied the group's tasks."""
    Task.objects.filter(group=group).update(status="done")
    Group.objects.filter(pk=group.pk).update(state="ok")
    return group


@pytest.fixture
def keyboard_page(browser, live_server, customer):
    context = new_context(browser, live_server.url, "fr", DESKTOP, customer)
    yield context.new_page()
    context.close()


def focused(page) -> dict:
    return page.evaluate(
        """() => { const e = document.activeElement, style = getComputedStyle(e);
            return {tag: e.tagName.toLowerCase(), id: e.id, text: e.textContent.trim(),
                    label: e.getAttribute("aria-label") || "", checked: !!e.checked,
                    invalid: e.getAttribute("aria-invalid"),
                    outline: `${style.outlineStyle} ${style.outlineWidth}`,
                    describedby: e.getAttribute("aria-describedby") || ""}; }"""
    )


def tab_to(page, matches, limit=60):
    """Press Tab until the focused element matches; fail if it is never reached."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        # Every stop shows where focus is: a solid outline of 3 px (WCAG 2.4.7, 2.4.13).
        assert now["outline"] == "solid 3px", f"focus not visible on {now}"
        if matches(now):
            return now
    raise AssertionError(f"not reached with Tab in {limit} presses")


def by_text(text):
    return lambda e: text in e["text"] or text in e["label"]


def follow(page, key="Enter"):
    """Press a key that loads another page (a link, a form's button) and wait for it."""
    with page.expect_navigation():
        page.keyboard.press(key)


def test_create_a_group_with_the_keyboard_alone(keyboard_page, service, domain, contacts):
    page = keyboard_page
    for name in ("anne", "chloe"):
        make_account(service, name)
    page.goto(f"/services/{service.name}/groups/")
    # The first Tab stop is the skip link; it takes focus to the content.
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Aller au contenu"
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "main"
    tab_to(page, by_text("Créer un groupe de contacts"), limit=8)
    follow(page)
    page.wait_for_url(re.compile(r"/groups/new/[^/]+/$"))

    # Step 1, with an error first: focus goes to the field, which names its message.
    tab_to(page, lambda e: e["id"] == "id_settings-local_part")
    page.keyboard.type("a..b")
    tab_to(page, by_text("Suivant"))
    follow(page)
    field = focused(page)
    assert field["id"] == "id_settings-local_part" and field["invalid"] == "true"
    message = page.locator(f"#{field['describedby'].split()[-1]}")
    expect(message).to_contain_text("un seul « . » ou « + »")
    page.keyboard.press("Control+A")
    page.keyboard.type("equipe")
    tab_to(page, by_text("Suivant"))
    follow(page)

    # Step 2: focus on the step's heading; each tick keeps focus on its box.
    expect(page.locator("h2[data-focus-heading]")).to_be_focused()
    assert "Membres et administrateurs" in focused(page)["text"]
    tab_to(page, by_text("anne@example.fr est un contact"))
    page.keyboard.press("Space")
    expect(page.get_by_text("1 contact sélectionné")).to_be_visible()
    settled(page)
    box = focused(page)
    assert box["label"] == "anne@example.fr est un contact" and box["checked"]
    tab_to(page, by_text("chloe@example.fr est un administrateur"))
    page.keyboard.press("Space")
    warning = page.locator("#selection-count #managers-without-mail")
    expect(warning).to_contain_text("chloe@example.fr")  # announced: inside role=status
    settled(page)
    assert focused(page)["label"] == "chloe@example.fr est un administrateur"
    tab_to(page, by_text("Suivant"))
    follow(page)

    # Step 3: focus on the heading; the warning is repeated in the summary.
    expect(page.locator("h2[data-focus-heading]")).to_be_focused()
    assert "Récapitulatif" in focused(page)["text"]
    expect(page.locator("#managers-without-mail")).to_contain_text("aucun message")
    tab_to(page, by_text("Confirmer"))
    follow(page)

    # Back on the list: focus on the message saying the request was taken into account.
    expect(page.locator("#messages .alert")).to_be_focused()
    assert "a bien été prise en compte" in focused(page)["text"]
    assert Group.objects.get().address.local_part == "equipe"


def test_change_a_delegation_with_the_keyboard_alone(
    keyboard_page, service, domain, customer, accounts
):
    page = keyboard_page
    operational(services.create_group(service, user=customer, local_part="equipe", domain=domain))
    page.goto(f"/services/{service.name}/groups/")
    tab_to(page, by_text("Actions pour equipe@example.fr"))
    page.keyboard.press("Enter")
    for _ in range(3):  # Configurer le groupe, Configurer les utilisateurs, Gérer les délégations
        page.keyboard.press("ArrowDown")
    assert focused(page)["text"] == "Gérer les délégations"
    follow(page)

    expect(page.get_by_text("Gérer les délégations").first).to_be_visible()
    tab_to(page, by_text("Droit d’envoi pour user3@example.fr"))
    page.keyboard.press("Space")
    row = page.locator("tr", has_text="user3@example.fr")
    expect(row).to_contain_text("Exclusif avec l’autre droit")
    expect(page.locator("#selection-count")).to_contain_text("1 droit d’envoi")
    settled(page)
    box = focused(page)
    assert box["label"] == "Droit d’envoi pour user3@example.fr" and box["checked"]
    tab_to(page, by_text("Suivant"))
    follow(page)

    expect(page.locator("[data-focus-heading]")).to_be_focused()
    assert focused(page)["text"] == "Récapitulatif des modifications"
    expect(page.get_by_text("Ajout d’un droit d’envoi (1)")).to_be_visible()
    tab_to(page, by_text("Confirmer"))
    follow(page)
    expect(page.locator("#messages .alert")).to_be_focused()
    assert Task.objects.filter(function="addDistributionGroupSendAs").exists()
    assert not Delegation.objects.exists()  # a worker applies it


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_menu_of_the_last_row_of_a_full_page_shows_whole(
    browser, live_server, service, domain, customer, viewport
):
    for i in range(21):  # one more than a page
        operational(
            services.create_group(service, user=customer, local_part=f"g{i:02d}", domain=domain)
        )
    context = new_context(browser, live_server.url, "fr", viewport, customer)
    page = context.new_page()
    try:
        page.goto(f"/services/{service.name}/groups/")
        last = page.locator("#table tbody tr").last
        expect(last).to_contain_text("g19@example.fr")
        last.get_by_role("button", name="Actions pour g19@example.fr").click()
        menu = last.locator(".dropdown-menu.show")
        expect(menu).to_be_visible()
        items = menu.locator(".dropdown-item")
        assert items.count() >= 8
        for index in range(items.count()):
            item = items.nth(index)
            inside = item.evaluate(
                """(e) => { const r = e.getBoundingClientRect();
                    const x = r.left + r.width / 2, y = r.top + r.height / 2;
                    const onTop = document.elementFromPoint(x, y);
                    return r.top >= 0 && r.left >= 0 && r.bottom <= window.innerHeight
                        && r.right <= document.documentElement.clientWidth
                        && !!onTop && e.contains(onTop); }"""
            )
            assert inside, f"{item.text_content().strip()} is not fully visible and clickable"
        menu.get_by_role("link", name="Supprimer le groupe").click()
        expect(page.get_by_text("Vous allez supprimer le groupe de contacts")).to_be_visible()
        expect(page.locator("#confirm")).to_contain_text("g19@example.fr")
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_skip_link_shown_hides_no_other_link(browser, live_server, customer, service, viewport):
    """Focused, the skip link shows above the navigation: it covers none of its links (a
    covered target fails WCAG 2.5.8, and a mouse or finger cannot reach it)."""
    context = new_context(browser, live_server.url, "fr", viewport, customer)
    try:
        page = context.new_page()
        page.goto(f"/services/{service.name}/groups/")
        page.locator(".skip-link").focus()
        assert focused(page)["text"] == "Aller au contenu"
        assert not violations(page)
    finally:
        context.close()
