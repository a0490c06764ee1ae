"""The guide end to end in a real browser, with a real worker applying the tasks."""

import re

import pytest
from playwright.sync_api import expect

from exchange_groups.models import Group, Task

from ..conftest import make_account
from .conftest import log_in

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_create_a_group_and_follow_it_to_operational(page, worker, service, domain, contacts):
    accounts = [make_account(service, name) for name in ("anne", "bruno", "chloe")]
    worker.start(PROVISIONING_DELAY="2")
    log_in(page)
    page.goto("/services/")
    page.shots("services")
    page.get_by_role("link", name=service.name).click()
    page.get_by_role("link", name="Groupes").click()
    page.shots("groups-empty")
    page.get_by_role("link", name="Créer un groupe de contacts").click()

    # Step 1: the settings.
    expect(page.get_by_text("Étape 1")).to_be_visible()
    page.get_by_label("Adresse e-mail").fill("equipe")
    expect(page.locator("#address-status")).to_contain_text("equipe@example.fr est disponible")
    page.get_by_label("Nom du groupe").fill("Équipe projet")
    page.shots("wizard-step1")
    page.get_by_role("button", name="Suivant").click()

    # Step 2: three contacts (two accounts, one external contact), one administrator.
    expect(page.get_by_text("0 contact sélectionné")).to_be_visible()
    page.get_by_label("anne@example.fr est un contact").check()
    expect(page.get_by_text("1 contact sélectionné")).to_be_visible()
    page.get_by_label("bruno@example.fr est un contact").check()
    page.get_by_label("friend0@partner.com est un contact").check()
    page.get_by_label("chloe@example.fr est un administrateur").check()
    expect(page.get_by_text("3 contacts sélectionnés")).to_be_visible()
    expect(page.get_by_text("1 administrateur sélectionné")).to_be_visible()
    page.shots("wizard-step2")
    page.get_by_role("button", name="Suivant").click()

    # Step 3: the summary, then confirm.
    expect(page.locator("#summary-address")).to_have_text("equipe@example.fr")
    expect(page.locator("#summary-members li")).to_have_count(3)
    expect(page.locator("#summary-managers")).to_contain_text("chloe@example.fr")
    page.shots("wizard-step3")
    page.get_by_role("button", name="Confirmer").click()

    row = page.locator("tr", has_text="equipe@example.fr")
    expect(page.get_by_text("a bien été prise en compte")).to_be_visible()
    expect(row).to_contain_text("Création en cours")
    page.shots("groups-creating")
    # No reload: the row updates itself once the worker is done.
    expect(row).to_contain_text("Opérationnel", timeout=30_000)
    expect(row).to_contain_text("Équipe projet")
    expect(row.locator("td").nth(3)).to_have_text("1")  # administrators
    expect(row.locator("td").nth(4)).to_have_text("3")  # contacts
    page.shots("groups-operational")

    page.get_by_role("button", name="Plus").click()
    page.get_by_role("link", name="Tâches récentes").click()
    for label in ("Ajout d’un groupe", "Ajout de membres", "Ajout d’administrateurs"):
        expect(page.locator("tr", has_text=label)).to_contain_text("Terminé")
    page.shots("tasks")
    group = Group.objects.get()
    assert group.members.count() == 3 and [m.account for m in group.managers.all()] == [accounts[2]]


def test_bad_input_is_shown_at_its_field(page, service, domain):
    make_account(service, "pris")
    log_in(page)
    page.goto(f"/services/{service.name}/groups/new/")
    cases = [
        ("Adresse e-mail", "pris", "Cette adresse est déjà utilisée sur la plateforme."),
        ("Adresse e-mail", "a..b", "un seul « . » ou « + »"),
        ("Taille maximale entrante (Mo)", "0", "de 1 à 100 Mo"),
        ("Taille maximale sortante (Mo)", "101", "de 1 à 100 Mo"),
    ]
    for label, value, message in cases:
        page.get_by_label("Adresse e-mail").fill("libre")
        page.get_by_label("Taille maximale entrante (Mo)").fill("")
        page.get_by_label("Taille maximale sortante (Mo)").fill("")
        page.get_by_label(label).fill(value)
        page.get_by_role("button", name="Suivant").click()
        field = page.get_by_label(label)
        expect(field).to_have_class(re.compile("is-invalid"))
        feedback = page.locator(f"#{field.get_attribute('id')} ~ .invalid-feedback")
        expect(feedback).to_contain_text(message)
        page.shots(f"error-{value.replace('.', '_')}")
    assert not Group.objects.exists()


def test_an_external_contact_cannot_be_administrator(page, service, domain, contacts):
    make_account(service, "anne")
    log_in(page)
    page.goto(f"/services/{service.name}/groups/new/")
    page.get_by_label("Adresse e-mail").fill("equipe")
    page.get_by_role("button", name="Suivant").click()
    row = page.locator("tr", has_text="friend0@partner.com")
    admin_box = row.locator("td").nth(3).locator("input[type=checkbox]")
    expect(admin_box).to_be_disabled()
    expect(row).to_contain_text("Impossible pour un contact externe")
    expect(page.get_by_label("anne@example.fr est un administrateur")).to_be_enabled()
    page.shots("contact-not-admin")


def test_delete_goes_through_confirmation_then_the_row_goes_away(
    page, worker, service, domain, customer, accounts
):
    from exchange_groups import services

    group = services.create_group(
        service,
        user=customer,
        local_part="ancien",
        domain=domain,
        display_name="Ancien",
        member_accounts=[a.pk for a in accounts[:2]],
    )
    worker.start(PROVISIONING_DELAY="1.5")
    log_in(page)
    row = page.locator("tr", has_text="ancien@example.fr")
    expect(row).to_contain_text("Opérationnel", timeout=30_000)
    row.get_by_role("button", name="Actions pour ancien@example.fr").click()
    page.shots("menu")
    row.get_by_role("link", name="Supprimer le groupe").click()
    expect(page.get_by_text("Vous allez supprimer le groupe de contacts")).to_be_visible()
    expect(page.locator("#confirm")).to_contain_text("2 contacts")
    page.shots("delete-confirm")
    page.get_by_role("button", name="Supprimer").click()
    row = page.locator("tr", has_text="ancien@example.fr")
    expect(row).to_contain_text("Suppression en cours")
    page.shots("deleting")
    expect(row).to_have_count(0, timeout=30_000)
    page.shots("deleted")
    assert not Group.objects.filter(pk=group.pk).exists()
    assert Task.objects.get(function="deleteDistributionGroup").status == "done"


def test_the_wizard_moves_on_once_a_box_is_saved(page, service, domain, contacts):
    """A box's change is saved by its own request; the wizard's buttons wait for it, so that
    the step posted next is not overwritten by it (both write the wizard's draft). Its
    answer is held back here, as on a slow network."""
    make_account(service, "anne")
    log_in(page)
    page.goto(f"/services/{service.name}/groups/new/")
    page.get_by_label("Adresse e-mail").fill("equipe")
    page.get_by_role("button", name="Suivant").click()
    expect(page.get_by_text("0 contact sélectionné")).to_be_visible()
    page.wait_for_load_state()  # htmx has taken the page's boxes
    held = []

    def hold(route):
        if "refresh" in (route.request.post_data or ""):
            held.append(route)
        else:
            route.continue_()

    page.route("**/groups/new/**", hold)
    page.get_by_label("anne@example.fr est un contact").check()
    next_step = page.get_by_role("button", name="Suivant")
    expect(next_step).to_be_disabled()
    held[0].continue_()
    page.unroute("**/groups/new/**")
    expect(next_step).to_be_enabled()
    expect(page.get_by_text("1 contact sélectionné")).to_be_visible()
    next_step.click()
    expect(page.locator("#summary-members li")).to_have_count(1)
