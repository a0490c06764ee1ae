"""Write what the panel holds to an empty (or partly empty) directory: the accounts as
mailboxes and the live groups, then read the accounts back. Entries already there are
left as they are. Used by `runstack --directory` for the demo data; also the way to move
a panel from the built-in platform to a directory."""

from django.core.management.base import BaseCommand, CommandError

from exchange_groups import directory_tree, platform_sync
from exchange_groups.models import Account, ExchangeService, Group


class Command(BaseCommand):
    help = "Write the panel's accounts and live groups to the directory where missing."

    def add_arguments(self, parser):
        parser.add_argument(
            "--mailbox-password", default="", help="the userPassword given to new mailboxes"
        )

    def handle(self, *args, mailbox_password, **options):
        try:
            for service in ExchangeService.objects.all():
                accounts = Account.objects.filter(service=service).exclude(state=Account.State.GONE)
                platform_sync.publish_accounts(
                    service, accounts.select_related("address__domain"), mailbox_password
                )
            written = platform_sync.publish_groups(Group.objects.all())
            counts = platform_sync.sync_accounts()
        except directory_tree.DirectoryUnreachable as exc:
            raise CommandError(f"The directory could not be reached: {exc}") from exc
        self.stdout.write(
            f"Directory provisioned: {written} groups written; accounts read back "
            "({added} added, {gone} gone).".format(**counts)
        )
