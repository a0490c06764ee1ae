"""Each item of a group's "..." menu in a real browser, with a real worker."""

import re

import pytest
from playwright.sync_api import expect

from exchange_groups import services
from exchange_groups.models import Delegation, Group, Task

from ..conftest import make_account, wait_for
from .conftest import log_in

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def live_group(worker, service, domain, customer, accounts, contacts):
    """An operational group (applied by the worker) with two members and an administrator."""
    group = services.create_group(
        service,
        user=customer,
        local_part="equipe",
        domain=domain,
        display_name="Équipe",
        member_accounts=[accounts[0].pk, accounts[1].pk],
        manager_accounts=[accounts[0].pk],
    )
    worker.start(PROVISIONING_DELAY="1")
    return group


def open_menu_item(page, item):
    row = page.locator("tr", has_text="equipe@example.fr")
    expect(row).to_contain_text("Opérationnel", timeout=30_000)
    row.get_by_role("button", name="Actions pour equipe@example.fr").click()
    row.get_by_role("link", name=item).click()


def test_configure_the_group(page, live_group):
    log_in(page)
    open_menu_item(page, "Configurer le groupe")
    expect(page.get_by_label("Nom du groupe")).to_have_value("Équipe")
    page.get_by_label("Nom du groupe").fill("Équipe projet")
    page.get_by_label("Taille maximale entrante (Mo)").fill("30")
    page.get_by_role("button", name="Suivant").click()
    changes = page.locator("#changes")
    expect(changes).to_contain_text("Équipe")
    expect(changes).to_contain_text("Équipe projet")
    expect(changes).to_contain_text("Valeur maximum (100 Mo)")
    expect(changes).to_contain_text("30 Mo")
    page.shots("configure-summary")
    page.get_by_role("button", name="Confirmer").click()
    row = page.locator("tr", has_text="equipe@example.fr")
    expect(row).to_contain_text("Tâche planifiée ou en cours d’exécution")
    page.shots("configure-pending")
    expect(row).to_contain_text("Opérationnel", timeout=30_000)
    expect(row).to_contain_text("Équipe projet")
    page.shots("configure-applied")
    assert Group.objects.get().max_receive_size == 30


def test_configure_the_users(page, live_group, contacts):
    log_in(page)
    open_menu_item(page, "Configurer les utilisateurs")
    expect(page.get_by_label("user0@example.fr est un contact")).to_be_checked()
    expect(page.get_by_label("user0@example.fr est un administrateur")).to_be_checked()
    page.get_by_label("user2@example.fr est un contact").check()
    page.get_by_label("user1@example.fr est un contact").uncheck()
    expect(page.get_by_text("2 contacts sélectionnés")).to_be_visible()
    # External contacts live under their own filter; ticks elsewhere are kept.
    page.get_by_label("Domaine").select_option(label="Contacts externes")
    expect(page.locator("#picker tbody tr", has_text="user0@example.fr")).to_have_count(0)
    page.get_by_label("friend1@partner.com est un contact").check()
    expect(page.get_by_text("3 contacts sélectionnés")).to_be_visible()
    page.shots("users")
    page.get_by_role("button", name="Suivant").click()
    expect(page.get_by_text("Ajout de membres (2)")).to_be_visible()
    expect(page.get_by_text("Suppression de membres (1)")).to_be_visible()
    page.shots("users-summary")
    page.get_by_role("button", name="Confirmer").click()
    row = page.locator("tr", has_text="equipe@example.fr")
    expect(row).to_contain_text("Tâche planifiée ou en cours d’exécution")
    expect(row).to_contain_text("Opérationnel", timeout=30_000)
    expect(row.locator("td").nth(4)).to_have_text("3")
    page.shots("users-applied")


def test_delegations_send_as_excludes_send_on_behalf(page, live_group, accounts):
    log_in(page)
    open_menu_item(page, "Gérer les délégations")
    page.get_by_label("Droit d’envoi pour user3@example.fr").check()
    row = page.locator("tr", has_text="user3@example.fr")
    expect(row).to_contain_text("Exclusif avec l’autre droit")
    expect(row.locator("input[type=checkbox]").nth(1)).to_be_disabled()
    page.shots("delegations")
    page.get_by_role("button", name="Suivant").click()
    expect(page.get_by_text("Ajout d’un droit d’envoi (1)")).to_be_visible()
    page.get_by_role("button", name="Confirmer").click()
    expect(page.get_by_text("les délégations de equipe@example.fr")).to_be_visible()
    row = page.locator("tr", has_text="equipe@example.fr")
    expect(row).to_contain_text("Opérationnel", timeout=30_000)
    assert Delegation.objects.get().kind == "send_as"
    # Back on the page, today's state shows the right and still excludes the other.
    open_menu_item(page, "Gérer les délégations")
    expect(page.get_by_label("Droit d’envoi pour user3@example.fr")).to_be_checked()
    expect(page.locator("tr", has_text="user3@example.fr")).to_contain_text("Exclusif")


def test_aliases_taken_refused_then_added(page, live_group, service):
    make_account(service, "pris")
    log_in(page)
    open_menu_item(page, "Alias")
    page.get_by_label("Alias").fill("pris")
    expect(page.locator("#address-status")).to_contain_text("déjà utilisée")
    page.get_by_role("button", name="Ajouter").click()
    field = page.get_by_label("Alias")
    expect(field).to_have_class(re.compile("is-invalid"))
    expect(page.locator(f"#{field.get_attribute('id')} ~ .invalid-feedback")).to_contain_text(
        "Cette adresse est déjà utilisée sur la plateforme."
    )
    page.shots("alias-taken")
    page.get_by_label("Alias").fill("team")
    page.get_by_role("button", name="Ajouter").click()
    expect(page.locator("#aliases")).to_contain_text("team@example.fr")
    expect(page.locator("#aliases")).to_contain_text("Création en cours")
    page.shots("alias-creating")
    wait_for(
        Task.objects.filter(function="addDistributionGroupAlias", status="done").exists,
        timeout=60,
        what="the alias task done by the worker",
    )
    page.reload()
    expect(page.locator("#aliases")).to_contain_text("Opérationnel")


def test_import_csv_preview_and_result(page, live_group, tmp_path):
    csv = tmp_path / "contacts.csv"
    csv.write_text("adresse\nuser4@example.fr\ninconnu@dehors.org\npas une adresse\n")
    log_in(page)
    open_menu_item(page, "Importer des contacts")
    page.get_by_label("Fichier CSV d’adresses").set_input_files(csv)
    page.get_by_role("button", name="Aperçu").click()
    expect(page.locator("#preview-known")).to_contain_text("user4@example.fr")
    expect(page.locator("#preview")).to_contain_text("1 adresse sera ajoutée")
    expect(page.locator("#preview-unknown")).to_contain_text("inconnu@dehors.org")
    expect(page.locator("#preview-refused")).to_contain_text("pas une adresse")
    expect(page.locator("#preview-refused")).to_contain_text("Adresse e-mail non valide.")
    page.shots("import-preview")
    page.get_by_role("button", name="Confirmer").click()
    row = page.locator("tr", has_text="equipe@example.fr")
    expect(row).to_contain_text("Opérationnel", timeout=30_000)
    expect(row.locator("td").nth(4)).to_have_text("4")
    page.shots("import-applied")
    assert Task.objects.filter(function="addDistributionGroupMember").count() == 2


def test_test_sending(page, live_group):
    log_in(page)
    open_menu_item(page, "Tester l’envoi")
    page.get_by_label("ou une adresse externe").fill("quelqu-un@dehors.example")
    page.get_by_label("L’expéditeur s’authentifie").check()
    page.get_by_role("button", name="Tester", exact=True).click()
    # Refused by the form: an external address cannot authenticate, said next to the box.
    expect(page.locator("#div_id_authenticated")).to_contain_text(
        "Seul un compte de la plateforme peut s’authentifier."
    )
    page.get_by_label("L’expéditeur s’authentifie").uncheck()
    page.get_by_role("button", name="Tester", exact=True).click()
    verdict = page.locator("#verdict")
    expect(verdict).to_contain_text("Distribué à 2 destinataires.")
    expect(verdict).to_contain_text("user1@example.fr")
    page.shots("sending-test")
    page.get_by_label("Taille du message (Ko)").fill("153600")
    page.get_by_role("button", name="Tester", exact=True).click()
    expect(verdict).to_contain_text("Refusé.")
    verdict.get_by_role("link", name="Taille maximale entrante").click()
    expect(page.get_by_label("Nom du groupe")).to_have_value("Équipe")
