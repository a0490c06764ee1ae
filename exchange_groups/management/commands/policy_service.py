"""Run the mail server's policy service (exchange_groups/policy_service.py) in the
foreground, reading the directory named by the LDAP_* settings. Postfix's
check_policy_service points at the address it listens on."""

from django.core.management.base import BaseCommand

from exchange_groups import directory_tree
from exchange_groups.policy_service import Policy, PolicyServer


class Command(BaseCommand):
    help = "Serve Postfix's policy delegation protocol from the directory."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=10031, help="0: a free port")

    def handle(self, *args, host, port, **options):
        server = PolicyServer((host, port), Policy(directory_tree.DirectorySettings.from_django()))
        # The address goes to stdout first: whoever started us with port 0 reads it there.
        self.stdout.write(f"listening on {host}:{server.server_address[1]}")
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
