"""Demo data, loaded once: a customer login, an Exchange service with two domains, about 50
accounts, 20 external contacts, groups in every state and tasks in every status. A second
customer with a service of its own shows that each sees only what was granted.

Groups are created through the service functions, so they carry the tasks a customer's
clicks would have written. The states a worker would have reached (a group live, a task
failed or interrupted) are then set directly, so every case shows without a worker. Tasks
left scheduled are sent to the workers at commit and applied once a worker runs."""

import os
import random
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, override

from exchange_groups import engine, reasons, services
from exchange_groups.audit import on_behalf_of, task_reason
from exchange_groups.backends.base import ProvisioningBackend
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
NOT_EMBEDDED = (
    "Demo data not loaded: DATABASE_URL names a database that is not the embedded default, "
    "and the demo logins are public. Pass --any-database to load them there anyway."
)

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

# What a worker does to the live rows when it applies one item of these functions.
DELEGATION_KINDS = {
    Task.Function.ADD_SEND_AS: Delegation.Kind.SEND_AS,
    Task.Function.ADD_SEND_ON_BEHALF: Delegation.Kind.SEND_ON_BEHALF,
}


def ascii_part(name: str) -> str:
    """A name as it appears in an address: lower case, without accents."""
    table = str.maketrans("éèêëàâäîïôöûüç", "eeeeaaaiioouuc")
    return name.lower().translate(table)


class Command(BaseCommand):
    help = "Create the demo data once, and print the demo login."

    def add_arguments(self, parser):
        parser.add_argument("--username", default=LOGIN[0], help="the demo customer's login")
        parser.add_argument("--password", default=LOGIN[1], help="the demo customer's password")
        parser.add_argument(
            "--any-database",
            action="store_true",
            help="load it even into the database DATABASE_URL names (never in production)",
        )

    def handle(self, *args, username, password, any_database=False, **options):
        # The demo logins and passwords are public (README): they go only into the embedded
        # default database unless the operator asks for them explicitly.
        if os.environ.get("DATABASE_URL") and not any_database:
            raise CommandError(NOT_EMBEDDED)
        service = ExchangeService.objects.filter(name=SERVICE).first()
        if service is not None:
            self.stdout.write("Demo data already loaded.")
            self.print_logins(service, username, password)
            return
        with transaction.atomic():
            service = self.seed(username, password)
        self.print_logins(service, username, password)

    def print_logins(self, service, username, password):
        user = service.customers.order_by("pk").first()
        if user is not None and (user.username != username or not user.check_password(password)):
            # Loaded earlier with other --username/--password: do not print a wrong login.
            login = f"{user.username} (the password given when the demo was loaded)"
        else:
            login = f"{username} / {password}"
        self.stdout.write(
            self.style.SUCCESS(f"Demo login: {login}")
            + f"   (another customer: {OTHER_LOGIN[0]} / {OTHER_LOGIN[1]};"
            + f" support staff, in /admin/: {SUPPORT_LOGIN[0]} / {SUPPORT_LOGIN[1]})"
        )

    def seed(self, username, password) -> ExchangeService:
        rng = random.Random(42)
        user = self.user(username, password)
        # The demo's history reads as if the demo customer had made these changes.
        with on_behalf_of(user, reason=None):
            service = self.seed_service(rng, user)
        self.other_customer()
        support = self.user(*SUPPORT_LOGIN, is_staff=True)
        support.groups.add(ensure_support_role())
        return service

    def seed_service(self, rng, user) -> ExchangeService:
        service = ExchangeService.objects.create(
            organization_name="hosted-ab12345",
            name=SERVICE,
            display_name="Exchange Hosted — Démo SARL",
        )
        service.customers.add(user)
        fr = Domain.objects.create(service=service, name="demo-sarl.fr")
        com = Domain.objects.create(service=service, name="demo-sarl.com")
        # Not ready yet: the forms must not offer it.
        Domain.objects.create(service=service, name="nouveau-demo.fr", state="creating")

        # Every (first, last) pair is distinct, so addresses never collide.
        names = [(f, last) for f in FIRST_NAMES for last in LAST_NAMES]
        rng.shuffle(names)
        accounts = [
            self.account(
                service,
                fr if i % 4 else com,
                f"{ascii_part(first)}.{ascii_part(last)}",
                first,
                last,
            )
            for i, (first, last) in enumerate(names[:50])
        ]
        contacts = [
            ExternalContact.objects.create(
                service=service,
                email=f"{ascii_part(first)}.{ascii_part(last)}@{PARTNERS[i % len(PARTNERS)]}",
                display_name=f"{first} {last}",
                first_name=first,
                last_name=last,
            )
            for i, (first, last) in enumerate(names[50:70])
        ]
        self.groups(service, user, fr, com, accounts, contacts)
        tasks = Task.objects.filter(service=service)
        by_status = ", ".join(
            f"{tasks.filter(status=status).count()} {status}" for status in Task.Status.values
        )
        self.stdout.write(
            f"Created {len(accounts)} accounts, {len(contacts)} external contacts, "
            f"{service.groups.count()} groups, {tasks.count()} tasks ({by_status})."
        )
        return service

    def user(self, username, password, is_staff=False):
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            raise CommandError(
                f"A user “{username}” already exists but the demo data is not loaded; "
                "choose another --username, or remove that user."
            )
        return User.objects.create_user(username, password=password, is_staff=is_staff)

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

        # Operational, with everything a group can have, all applied; and a settings change
        # the customer cancelled before a worker took it.
        direction = self.create(
            service, user, "direction", fr, display_name="Direction",
            member_accounts=[a.pk for a in accounts[:6]],
            manager_accounts=[accounts[0].pk, accounts[1].pk],
            sender_authentication=True,
        )  # fmt: skip
        self.make_live(direction, now - timedelta(days=12))
        services.change_delegations(
            direction, user=user, send_as=[accounts[2].pk], send_on_behalf=[accounts[3].pk]
        )
        services.add_alias(direction, user=user, local_part="direction", domain=com)
        self.make_live(direction, now - timedelta(days=11))
        cancelled = services.update_group(direction, user=user, display_name="Comité de direction")
        services.cancel_task(cancelled, user=user)

        # Operational, with a change still scheduled: "Tâche planifiée ou en cours".
        commercial = self.create(
            service, user, "commercial", fr, display_name="Équipe commerciale",
            member_accounts=[a.pk for a in accounts[6:18]],
            member_contacts=[c.pk for c in contacts[:4]],
            manager_accounts=[accounts[6].pk, accounts[7].pk],
        )  # fmt: skip
        self.make_live(commercial, now - timedelta(days=5))
        services.add_members(commercial, user=user, accounts=[accounts[18].pk])

        # Operational, but its last task failed after its retries: the customer may retry.
        projet = self.create(
            service, user, "projet-alpha", com, display_name="Projet Alpha",
            member_accounts=[a.pk for a in accounts[20:25]],
        )  # fmt: skip
        self.make_live(projet, now - timedelta(days=2))
        failed = services.add_members(projet, user=user, contacts=[contacts[5].pk])
        self.make_failed(failed, now - timedelta(hours=3))

        archives = self.create(service, user, "archives", fr, display_name="Archives 2024")
        self.make_live(archives, now - timedelta(days=40))
        Group.objects.filter(pk=archives.pk).update(state=Group.State.SUSPENDED)

        # A deletion a worker had started when it stopped: its lease has expired, so the
        # sweep gives it back to the workers.
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
        """Apply the group's scheduled tasks as a worker would have: the live rows written
        (recorded in the history as made by the task), the tasks and items done, the group
        operational."""
        tasks = list(group.tasks.filter(status=Task.Status.TODO).order_by("pk"))
        for task in tasks:
            with on_behalf_of(task.requested_by, task_reason(task)):
                for item in task.items.select_related("alias"):
                    self.apply_item(group, task.function, item)
        finished = when + timedelta(seconds=3)
        TaskItem.objects.filter(task__in=tasks).update(
            status=TaskItem.Status.DONE, finished_at=finished
        )
        Task.objects.filter(pk__in=[t.pk for t in tasks]).update(
            status=Task.Status.DONE,
            attempts=1,
            created_at=when,
            run_after=when,
            started_at=when + timedelta(seconds=1),
            finished_at=finished,
        )
        Group.objects.filter(pk=group.pk).update(state=Group.State.OK)
        group.refresh_from_db()

    def apply_item(self, group, function, item):
        if function == Task.Function.ADD_MEMBER:
            GroupMember.objects.create(group=group, account=item.account, contact=item.contact)
        elif function == Task.Function.ADD_MANAGER:
            GroupManager.objects.create(group=group, account=item.account)
        elif function in DELEGATION_KINDS:
            Delegation.objects.create(
                group=group, account=item.account, kind=DELEGATION_KINDS[function]
            )
        elif function == Task.Function.ADD_ALIAS:
            item.alias.state = Alias.State.OK
            item.alias.save(update_fields=["state"])

    def make_failed(self, task, when):
        """Leave the task as the engine does after its last failed attempt, with the
        engine's own message, in the product's reference language."""
        with override(None):  # the backend's message id, as the engine records it
            reason = str(ProvisioningBackend.item_failed_message)
        failures = {pk: reason for pk in task.items.values_list("pk", flat=True)}
        detail = engine.failure_summary(task, failures)
        with override(settings.LANGUAGE_CODE):
            summary, reason = reasons.render(detail), gettext(reason)
        task.items.update(status=TaskItem.Status.ERROR, error=reason, finished_at=when)
        Task.objects.filter(pk=task.pk).update(
            status=Task.Status.ERROR,
            attempts=settings.TASK_MAX_ATTEMPTS,
            started_at=when - timedelta(seconds=40),
            finished_at=when,
            error=summary,
            error_detail=detail,
        )

    def other_customer(self):
        user = self.user(*OTHER_LOGIN)
        with on_behalf_of(user, reason=None):
            service = ExchangeService.objects.create(
                organization_name="hosted-cd67890",
                name="hosted-cd67890-1",
                display_name="Exchange Hosted — Autre Société",
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
