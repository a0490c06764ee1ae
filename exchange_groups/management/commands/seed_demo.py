"""Demo data, loaded once: a customer login, an Exchange service with two domains, about 50
accounts, 20 external contacts, groups in every state and tasks in every status. A second
customer with a service of its own shows that each sees only what was granted."""

import random
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from exchange_groups import services
from exchange_groups.audit import on_behalf_of
from exchange_groups.models import (
    Account,
    Address,
    Alias,
    Delegation,
    Domain,
    ExchangeService,
    ExternalContact,
    Group,
    GroupManager,
    GroupMember,
    Task,
    TaskItem,
)
from exchange_groups.roles import ensure_support_role

SERVICE = "hosted-ab12345-1"
LOGIN = ("demo", "demo-exchange-2026")
OTHER_LOGIN = ("autre", "autre-exchange-2026")
SUPPORT_LOGIN = ("support", "support-exchange-2026")

FIRST_NAMES = [
    "Camille", "Léa", "Manon", "Chloé", "Inès", "Sarah", "Julie", "Emma", "Louise", "Alice",
    "Lucas", "Hugo", "Louis", "Gabriel", "Arthur", "Jules", "Nathan", "Thomas", "Paul", "Adam",
    "Mathilde", "Élodie", "Claire", "Anaïs", "Pauline",
]  # fmt: skip
LAST_NAMES = [
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
    "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
    "Vincent", "Fournier", "Morel", "Girard", "André", "Mercier", "Dupont",
]  # fmt: skip
PARTNERS = ["partenaire-conseil.fr", "cabinet-avocats.fr", "gmail.com", "orange.fr", "agence.io"]


def ascii_part(name: str) -> str:
    table = str.maketrans("éèêëàâäîïôöûüç", "eeeeaaaiioouuc")
    return name.lower().translate(table)


class Command(BaseCommand):
    help = "Create the demo data once, and print the demo login."

    def handle(self, *args, **options):
        if ExchangeService.objects.filter(name=SERVICE).exists():
            self.stdout.write("Demo data already loaded.")
        else:
            with transaction.atomic():
                self.seed()
        self.stdout.write(
            self.style.SUCCESS(f"Demo login: {LOGIN[0]} / {LOGIN[1]}")
            + f"   (another customer: {OTHER_LOGIN[0]} / {OTHER_LOGIN[1]};"
            + f" support staff, in /admin/: {SUPPORT_LOGIN[0]} / {SUPPORT_LOGIN[1]})"
        )

    def seed(self):
        rng = random.Random(42)
        user = self.customer(*LOGIN)
        # The demo's history reads as if the demo customer had made these changes.
        with on_behalf_of(user, reason=None):
            self.seed_service(rng, user)
        self.other_customer()
        support = get_user_model().objects.create_user(
            SUPPORT_LOGIN[0], password=SUPPORT_LOGIN[1], is_staff=True
        )
        support.groups.add(ensure_support_role())

    def seed_service(self, rng, user):
        service = ExchangeService.objects.create(
            organization_name="hosted-ab12345",
            name=SERVICE,
            display_name="Exchange Hosted — Démo SARL",
        )
        service.customers.add(user)
        fr = Domain.objects.create(service=service, name="demo-sarl.fr")
        com = Domain.objects.create(service=service, name="demo-sarl.com")
        Domain.objects.create(service=service, name="nouveau-demo.fr", state="creating")

        accounts = []
        names = [(f, last) for f in FIRST_NAMES for last in LAST_NAMES]
        rng.shuffle(names)
        for i, (first, last) in enumerate(names[:50]):
            domain = fr if i % 4 else com
            accounts.append(
                self.account(
                    service, domain, f"{ascii_part(first)}.{ascii_part(last)}", first, last
                )
            )
        contacts = []
        for i, (first, last) in enumerate(names[50:70]):
            email = f"{ascii_part(first)}.{ascii_part(last)}@{PARTNERS[i % len(PARTNERS)]}"
            contacts.append(
                ExternalContact.objects.create(
                    service=service,
                    email=email,
                    display_name=f"{first} {last}",
                    first_name=first,
                    last_name=last,
                )
            )
        self.groups(service, user, fr, com, accounts, contacts)
        self.stdout.write(
            f"Created {len(accounts)} accounts, {len(contacts)} external contacts, "
            f"{Group.objects.filter(service=service).count()} groups, "
            f"{Task.objects.filter(service=service).count()} tasks."
        )

    def customer(self, username, password):
        user = get_user_model().objects.create_user(username, password=password)
        return user

    def account(self, service, domain, local_part, first, last):
        address = Address.objects.create(domain=domain, local_part=local_part, kind="account")
        return Account.objects.create(
            service=service,
            address=address,
            display_name=f"{first} {last}",
            first_name=first,
            last_name=last,
        )

    def create(self, service, user, local_part, domain, **kwargs):
        return services.create_group(
            service, user=user, local_part=local_part, domain=domain, **kwargs
        )

    def groups(self, service, user, fr, com, accounts, contacts):
        now = timezone.now()

        # Operational groups, as a worker would have left them.
        direction = self.create(
            service, user, "direction", fr, display_name="Direction",
            member_accounts=[a.pk for a in accounts[:6]], manager_accounts=[accounts[0].pk],
            sender_authentication=True,
        )  # fmt: skip
        self.make_live(direction, now - timedelta(days=12))
        Delegation.objects.create(group=direction, account=accounts[1], kind="send_as")
        Delegation.objects.create(group=direction, account=accounts[2], kind="send_on_behalf")
        Alias.objects.create(
            group=direction,
            address=Address.objects.create(domain=com, local_part="direction", kind="alias"),
            state=Alias.State.OK,
        )
        cancelled = services.update_group(direction, user=user, display_name="Comité de direction")
        services.cancel_task(cancelled, user=user)

        commercial = self.create(
            service, user, "commercial", fr, display_name="Équipe commerciale",
            member_accounts=[a.pk for a in accounts[6:18]],
            member_contacts=[c.pk for c in contacts[:4]],
            manager_accounts=[accounts[6].pk, accounts[7].pk],
        )  # fmt: skip
        self.make_live(commercial, now - timedelta(days=5))
        # Still to do: a worker will apply it once the product runs.
        services.add_members(commercial, user=user, accounts=[accounts[18].pk])

        projet = self.create(
            service, user, "projet-alpha", com, display_name="Projet Alpha",
            member_accounts=[a.pk for a in accounts[20:25]],
        )  # fmt: skip
        self.make_live(projet, now - timedelta(days=2))
        failed = services.add_members(projet, user=user, contacts=[contacts[5].pk])
        item = failed.items.get()
        reason = "La plateforme Exchange n’a pas pu appliquer cette modification."
        TaskItem.objects.filter(pk=item.pk).update(status="error", error=reason, finished_at=now)
        Task.objects.filter(pk=failed.pk).update(
            status=Task.Status.ERROR,
            attempts=3,
            started_at=now - timedelta(hours=3),
            finished_at=now - timedelta(hours=3),
            error=f"1 élément n’a pas pu être appliqué. {reason} ({item.label})",
        )

        archives = self.create(service, user, "archives", fr, display_name="Archives 2024")
        self.make_live(archives, now - timedelta(days=40))
        Group.objects.filter(pk=archives.pk).update(state=Group.State.SUSPENDED)

        # A group whose deletion a worker had started when it stopped: the sweep resumes it.
        ancien = self.create(service, user, "ancien-service", com, display_name="Ancien service")
        self.make_live(ancien, now - timedelta(days=90))
        deletion = services.delete_group(ancien, user=user)
        Task.objects.filter(pk=deletion.pk).update(
            status=Task.Status.DOING,
            attempts=1,
            started_at=now - timedelta(minutes=10),
            lease_expires_at=now - timedelta(minutes=5),
        )

        # Just requested: "Création en cours" until a worker applies it.
        self.create(
            service, user, "support", fr, display_name="Support client",
            member_accounts=[a.pk for a in accounts[30:34]],
            member_contacts=[contacts[10].pk], manager_accounts=[accounts[30].pk],
        )  # fmt: skip

    def make_live(self, group, when):
        """Apply a group's tasks as a worker would have: rows live, tasks done."""
        for task in group.tasks.order_by("pk"):
            for item in task.items.all():
                if task.function == Task.Function.ADD_MEMBER:
                    GroupMember.objects.create(
                        group=group, account=item.account, contact=item.contact
                    )
                elif task.function == Task.Function.ADD_MANAGER:
                    GroupManager.objects.create(group=group, account=item.account)
            task.items.update(status="done", finished_at=when)
        group.tasks.update(
            status=Task.Status.DONE,
            attempts=1,
            started_at=when,
            finished_at=when + timedelta(seconds=3),
            created_at=when,
        )
        Group.objects.filter(pk=group.pk).update(state=Group.State.OK)
        group.refresh_from_db()

    def other_customer(self):
        user = self.customer(*OTHER_LOGIN)
        with on_behalf_of(user, reason=None):
            self.other_service(user)

    def other_service(self, user):
        service = ExchangeService.objects.create(
            organization_name="hosted-cd67890",
            name="hosted-cd67890-1",
            display_name="Autre Société",
        )
        service.customers.add(user)
        domain = Domain.objects.create(service=service, name="autre-societe.fr")
        people = [
            self.account(service, domain, ascii_part(first), first, "Durand")
            for first in ("Nina", "Omar", "Rose", "Théo", "Yanis")
        ]
        group = self.create(
            service, user, "equipe", domain, display_name="Équipe",
            member_accounts=[p.pk for p in people],
        )  # fmt: skip
        self.make_live(group, timezone.now() - timedelta(days=1))
