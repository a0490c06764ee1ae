"""Run the mail server's policy service (exchange_groups/policy_service.py) and its header
milter (exchange_groups/mail_milter.py) in the foreground, reading the directory named by
the LDAP_* settings. Postfix's check_policy_service and smtpd_milters point at them."""

import threading

from django.core.management.base import BaseCommand

from exchange_groups import directory_tree, mail_milter
from exchange_groups.policy_service import Policy, PolicyServer


class Command(BaseCommand):
    help = "Serve Postfix's policy delegation protocol and the header milter from the directory."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=10031, help="policy; 0: a free port")
        parser.add_argument("--milter-port", type=int, default=10032)

    def handle(self, *args, host, port, milter_port, **options):
        config = directory_tree.DirectorySettings.from_django()
        server = PolicyServer((host, port), Policy(config))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        # The address goes to stdout first: whoever started us with port 0 reads it there.
        self.stdout.write(f"listening on {host}:{server.server_address[1]}")
        self.stdout.flush()
        try:
            mail_milter.run(config, host, milter_port)  # returns when told to stop
        finally:
            server.shutdown()
            server.server_close()
