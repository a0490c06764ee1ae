"""Read the mailboxes of the directory into the panel (exchange_groups/platform_sync.py)."""

from django.core.management.base import BaseCommand, CommandError

from exchange_groups import directory_tree, platform_sync


class Command(BaseCommand):
    help = "Read the accounts (mailboxes) of the directory into the panel."

    def handle(self, *args, **options):
        try:
            counts = platform_sync.sync_accounts()
        except directory_tree.DirectoryUnreachable as exc:
            raise CommandError(f"The directory could not be reached: {exc}") from exc
        self.stdout.write(
            "Accounts: {added} added, {gone} marked gone, {back} back, {updated} updated, "
            "{skipped} skipped.".format(**counts)
        )
