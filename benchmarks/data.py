"""The provider-scale data set, generated on PostgreSQL by set-based INSERT ... SELECT
(generate_series): a million memberships in well under a minute, with no Python object per row.

It empties the app's tables first: give it a database of its own. One service per size,
all granted to the login "bench" (password BENCH_PASSWORD), and a
superuser "bench-admin" for the support console:

- `scale-<G>`: G groups of 100 members each (accounts taken round-robin), one administrator
  each, 5 accounts per group (50,000 for 10,000 groups), G // 10 external contacts, 3
  finished tasks per group (one item each);
- in the largest service, one more group, `big`, with 10,000 members and a long history:
  20,000 finished tasks (a page must not read a group's whole history);
- every membership's audit record ("contact added", as the workers write them).
"""

import time

from django.contrib.auth import get_user_model
from django.db import connection, transaction

from exchange_groups.models import (
    Account,
    Address,
    Domain,
    ExchangeService,
    ExternalContact,
    Group,
    GroupManager,
    GroupMember,
    Task,
    TaskItem,
)

BENCH_PASSWORD = "bench-password-2026"
MEMBERS_PER_GROUP = 100
BIG_GROUP_MEMBERS = 10_000
BIG_GROUP_HISTORY = 20_000  # finished tasks of the big group


def t(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def generate(sizes: list[int]) -> float:
    """(Re)create the benchmark services; returns the seconds it took."""
    assert connection.vendor == "postgresql", "the scale benchmark runs on PostgreSQL"
    start = time.perf_counter()
    User = get_user_model()
    with transaction.atomic():
        _wipe()
        user, _ = User.objects.get_or_create(username="bench")
        user.set_password(BENCH_PASSWORD)
        user.save()
        admin, _ = User.objects.get_or_create(
            username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
        )
        admin.set_password(BENCH_PASSWORD)
        admin.save()
        for size in sizes:
            service = ExchangeService.objects.create(
                organization_name=f"scale-{size}", name=f"scale-{size}"
            )
            service.customers.add(user)
            domain = Domain.objects.create(service=service, name=f"scale{size}.example")
            _fill(service, domain, size, big=size == max(sizes))
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # as autovacuum would: index-only scans work
    return time.perf_counter() - start


def _wipe() -> None:
    """Empty the app's tables: the benchmark database is its own, never a real one."""
    from django.apps import apps

    tables = [m._meta.db_table for m in apps.get_app_config("exchange_groups").get_models()]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(map(connection.ops.quote_name, tables))} CASCADE")


def _fill(service, domain, groups: int, big: bool) -> None:
    accounts = groups * 5
    s, d = service.pk, domain.pk
    sql = [
        # accounts
        f"""INSERT INTO {t(Address)} (domain_id, local_part, kind, created_at)
            SELECT {d}, 'user' || lpad(i::text, 6, '0'), 'account', now()
            FROM generate_series(1, {accounts}) i""",
        f"""INSERT INTO {t(Account)}
              (service_id, address_id, display_name, first_name, last_name, state)
            SELECT {s}, a.id, 'User ' || a.local_part, 'User', a.local_part, 'ok'
            FROM {t(Address)} a WHERE a.domain_id = {d} AND a.kind = 'account'""",
        # groups
        f"""INSERT INTO {t(Address)} (domain_id, local_part, kind, created_at)
            SELECT {d}, 'group' || lpad(i::text, 6, '0'), 'group', now()
            FROM generate_series(1, {groups}) i""",
        f"""INSERT INTO {t(Group)} (service_id, address_id, display_name, join_restriction,
              depart_restriction, hidden_from_gal, sender_authentication, state,
              created_at, updated_at)
            SELECT {s}, a.id, 'Group ' || a.local_part, 'closed', 'closed', false, false,
              'ok', now(), now()
            FROM {t(Address)} a WHERE a.domain_id = {d} AND a.kind = 'group'""",
        # 100 members per group, accounts round-robin; one administrator per group
        f"""WITH g AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n
                       FROM {t(Group)} WHERE service_id = {s}),
                 acc AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n
                         FROM {t(Account)} WHERE service_id = {s})
            INSERT INTO {t(GroupMember)} (group_id, account_id, created_at)
            SELECT g.id, acc.id, now()
            FROM g CROSS JOIN generate_series(0, {MEMBERS_PER_GROUP - 1}) k
            JOIN acc ON acc.n = (g.n * {MEMBERS_PER_GROUP} + k) % {accounts}""",
        f"""INSERT INTO {t(GroupManager)} (group_id, account_id, created_at)
            SELECT DISTINCT ON (m.group_id) m.group_id, m.account_id, now()
            FROM {t(GroupMember)} m JOIN {t(Group)} g ON g.id = m.group_id
            WHERE g.service_id = {s} ORDER BY m.group_id, m.account_id""",
        # external contacts
        f"""INSERT INTO {t(ExternalContact)}
              (service_id, email, display_name, first_name, last_name, created_at)
            SELECT {s}, 'partner' || i || '@outside.example', 'Partner ' || i, '', '', now()
            FROM generate_series(1, {max(groups // 10, 10)}) i""",
        # three finished tasks per group, one item each
        f"""INSERT INTO {t(Task)} (service_id, group_id, object_label, function, params,
              status, created_at, started_at, finished_at, attempts, crashes, error,
              error_detail, run_after)
            SELECT {s}, g.id, a.local_part || '@{domain.name}', 'addDistributionGroupMember',
              '{{}}', 'done', now() - ((g.id * 3 + k) || ' seconds')::interval, now(), now(),
              1, 0, '', '[]', now()
            FROM {t(Group)} g JOIN {t(Address)} a ON a.id = g.address_id
            CROSS JOIN generate_series(1, 3) k WHERE g.service_id = {s}""",
        f"""INSERT INTO {t(TaskItem)} (task_id, account_id, label, status, error, finished_at)
            SELECT tk.id, m.account_id, 'member', 'done', '', now()
            FROM {t(Task)} tk JOIN {t(GroupManager)} m ON m.group_id = tk.group_id
            WHERE tk.service_id = {s}""",
    ]
    if big:
        sql += [
            f"""INSERT INTO {t(Address)} (domain_id, local_part, kind, created_at)
                VALUES ({d}, 'big', 'group', now())""",
            f"""INSERT INTO {t(Group)} (service_id, address_id, display_name,
                  join_restriction, depart_restriction, hidden_from_gal,
                  sender_authentication, state, created_at, updated_at)
                SELECT {s}, a.id, 'Big group', 'closed', 'closed', false, false, 'ok',
                  now(), now()
                FROM {t(Address)} a WHERE a.domain_id = {d} AND a.local_part = 'big'""",
            f"""INSERT INTO {t(GroupMember)} (group_id, account_id, created_at)
                SELECT g.id, acc.id, now()
                FROM {t(Group)} g JOIN {t(Address)} a ON a.id = g.address_id,
                  (SELECT id FROM {t(Account)} WHERE service_id = {s}
                   ORDER BY id LIMIT {BIG_GROUP_MEMBERS}) acc
                WHERE a.local_part = 'big' AND a.domain_id = {d}""",
            f"""INSERT INTO {t(Task)} (service_id, group_id, object_label, function, params,
                  status, created_at, started_at, finished_at, attempts, crashes, error,
                  error_detail, run_after)
                SELECT {s}, g.id, 'big@{domain.name}', 'addDistributionGroupMember', '{{}}',
                  'done', now() - (k || ' seconds')::interval, now(), now(), 1, 0, '', '[]',
                  now()
                FROM {t(Group)} g JOIN {t(Address)} a ON a.id = g.address_id
                CROSS JOIN generate_series(1, {BIG_GROUP_HISTORY}) k
                WHERE a.local_part = 'big' AND a.domain_id = {d}""",
        ]
    # Every membership's audit record ("contact added"), as the workers write them: a
    # group's Historique reads its page of them.
    history = GroupMember.history.model
    sql.append(
        f"""INSERT INTO {t(history)} (id, group_id, account_id, created_at, history_date,
              history_type, history_change_reason)
            SELECT m.id, m.group_id, m.account_id, m.created_at, m.created_at, '+',
              'task:0:addDistributionGroupMember'
            FROM {t(GroupMember)} m JOIN {t(Group)} g ON g.id = m.group_id
            WHERE g.service_id = {s}"""
    )
    with connection.cursor() as cursor:
        for statement in sql:
            cursor.execute(statement)
