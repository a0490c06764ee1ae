"""Figures for the directory backend on a private slapd (needs slapd and python-ldap), on
the database configured (SQLite in a temporary folder by default):

    .venv/bin/python benchmarks/directory.py [members]

- a worker applying an N-member group (creation, then the members task) to the directory,
  with the LDAP operations it made, and the same task on the built-in backend (the ratio);
- removing all but one of them;
- the drift check of that group and the account sync of its N mailboxes.
It prints what it measured; it asserts nothing.
"""

import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlpanel.settings_test")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:1/0")  # unreachable: nothing is sent

import django  # noqa: E402

django.setup()

import ldap.ldapobject  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from controlpanel.embedded_slapd import EmbeddedSlapd  # noqa: E402

OPERATIONS = Counter()
for name in ("search_ext", "add_ext", "modify_ext", "delete_ext", "rename", "simple_bind"):
    original = getattr(ldap.ldapobject.SimpleLDAPObject, name)

    def counted(self, *args, _original=original, _name=name, **kwargs):
        OPERATIONS[_name] += 1
        return _original(self, *args, **kwargs)

    setattr(ldap.ldapobject.SimpleLDAPObject, name, counted)


def timed(label, function):
    OPERATIONS.clear()
    start = time.perf_counter()
    function()
    elapsed = time.perf_counter() - start
    ops = sum(OPERATIONS.values())
    print(f"{label:<58} {elapsed:8.2f} s  {ops:5d} LDAP operations")
    return elapsed


def main(members: int) -> None:
    from django.contrib.auth import get_user_model

    from exchange_groups import engine, platform_sync, services
    from exchange_groups.models import Account, Address, Domain, ExchangeService, Task

    server = EmbeddedSlapd()
    server.start()
    try:
        for name, value in server.settings.items():
            setattr(settings, name, value)
        call_command("migrate", verbosity=0)
        engine.enqueue = lambda ids, countdown=None, **_: None
        user = get_user_model().objects.create_user("bench", password="bench-password-1")
        service = ExchangeService.objects.create(organization_name="bench", name="bench-1")
        domain = Domain.objects.create(service=service, name="bench.example")
        addresses = Address.objects.bulk_create(
            [Address(domain=domain, local_part=f"u{i:05d}", kind="account") for i in range(members)]
        )
        accounts = Account.objects.bulk_create(
            [Account(service=service, address=a) for a in addresses]
        )
        for a, address in zip(accounts, addresses, strict=True):
            a.address = address
        print(f"database: {django.db.connection.vendor}, {members} members")
        timed(f"write {members} mailboxes (set-up, one add each)",
              lambda: platform_sync.publish_accounts(service, accounts))  # fmt: skip

        def run(backend):
            settings.PROVISIONING_BACKEND = backend
            engine.get_backend.cache_clear()
            group = services.create_group(
                service, user=user, local_part=f"g{Task.objects.count()}", domain=domain,
                member_accounts=[a.pk for a in accounts],
            )  # fmt: skip
            for task in Task.objects.filter(group=group).order_by("pk"):
                engine.execute(task.pk)
            group.refresh_from_db()
            return group

        holder = {}
        built_in = timed(
            f"built-in backend: apply a {members}-member group",
            lambda: holder.setdefault(
                "built-in", run("exchange_groups.backends.database.DatabaseBackend")
            ),
        )
        directory = timed(
            f"directory backend: apply a {members}-member group",
            lambda: holder.setdefault(
                "group", run("exchange_groups.backends.directory.DirectoryBackend")
            ),
        )
        print(f"{'ratio directory / built-in':<58} {directory / built_in:8.2f}")
        group = holder["group"]

        def remove(group, backend):
            settings.PROVISIONING_BACKEND = backend
            engine.get_backend.cache_clear()
            task = services.remove_members(group, user=user, accounts=[a.pk for a in accounts[1:]])
            engine.execute(task.pk)

        built_in = timed(
            f"built-in backend: remove {members - 1} members",
            lambda: remove(holder["built-in"], "exchange_groups.backends.database.DatabaseBackend"),
        )
        directory = timed(
            f"directory backend: remove {members - 1} members",
            lambda: remove(group, "exchange_groups.backends.directory.DirectoryBackend"),
        )
        print(f"{'ratio directory / built-in':<58} {directory / built_in:8.2f}")
        timed("drift check of the groups", lambda: platform_sync.check_drift())
        timed(f"account sync of {members} mailboxes", lambda: platform_sync.sync_accounts())
    finally:
        server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
