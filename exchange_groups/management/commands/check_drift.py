"""Compare what the panel says is live with the directory and record each difference
(exchange_groups/platform_sync.py); support settles them in the admin."""

from django.core.management.base import BaseCommand, CommandError

from exchange_groups import directory_tree, platform_sync


class Command(BaseCommand):
    help = "Record the differences between the panel's live groups and the directory."

    def handle(self, *args, **options):
        try:
            counts = platform_sync.check_drift()
        except directory_tree.DirectoryUnreachable as exc:
            raise CommandError(f"The directory could not be reached: {exc}") from exc
        self.stdout.write(
            "{groups} groups compared: {groups_differing} differ ({differences} "
            "differences).".format(**counts)
        )
