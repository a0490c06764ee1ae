"""The engine against Celery's floor: real worker processes (concurrency 2) on an embedded
Redis, a one-item change from the service call to done, and the throughput of 1,000
one-item tasks over 100 groups, each beside a no-op Celery task on the same broker."""

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.harness import ROOT, median_ms, p99_ms


@contextlib.contextmanager
def embedded_redis():
    from controlpanel import embedded_redis as embedded

    folder = Path(tempfile.mkdtemp(prefix="bench-redis-"))
    process = embedded.start(folder / "redis.sock")
    os.environ["REDIS_URL"] = embedded.socket_url(folder / "redis.sock")
    try:
        yield os.environ["REDIS_URL"]
    finally:
        process.terminate()
        process.wait()


@contextlib.contextmanager
def worker(redis_url):
    from django.db import connection

    s = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{s['USER']}@{s['HOST']}:{s['PORT'] or 5432}/{s['NAME']}",
        "REDIS_URL": redis_url,
        "PROVISIONING_DELAY": "0",
        "PROVISIONING_FAILURE_RATE": "0",
    }
    log = open(Path(os.environ["VAR_DIR"]) / "worker.log", "wb")  # noqa: SIM115
    command = [
        sys.executable, "-m", "celery", "-A", "controlpanel", "worker", "-I", "benchmarks.noop",
        "--pool", "prefork", "--concurrency", "2", "--loglevel", "WARNING",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)  # fmt: skip
    try:
        time.sleep(1)
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


def measure(table, redis_url, size, round_trips=200, batch=1000, batches=2) -> None:
    from django.contrib.auth import get_user_model

    from benchmarks import noop
    from exchange_groups import engine, services
    from exchange_groups.models import Account, ExchangeService, Group, Task

    r = noop.client()
    user = get_user_model().objects.get(username="bench")
    service = ExchangeService.objects.get(name=f"scale-{size}")
    # As a view hands them to the services (access.group_for): with their address.
    groups = list(
        Group.objects.select_related("address__domain", "service")
        .filter(service=service, state="ok")
        .order_by("pk")[:100]
    )

    round_trips += round_trips % 2  # even: the account ends as it started

    def wait_done(count):
        for _ in range(count):
            assert r.blpop(noop.DONE_KEY, timeout=60), "the worker did not answer"

    with worker(redis_url):
        r.delete(noop.DONE_KEY)
        noop.noop.delay(0)
        wait_done(1)  # the worker is up
        # Round trip: alternately add and remove one account of a 100-member group.
        group = groups[0]
        account = Account.objects.filter(service=service).exclude(memberships__group=group).first()
        change = [services.add_members, services.remove_members]

        def one_change(i=[0]):  # noqa: B006 (a counter kept across calls)
            task = change[i[0] % 2](group, user=user, accounts=[account.pk])
            i[0] += 1
            # Done when the worker has run it (told on the broker, as for the no-op task:
            # no database polling on one side only); checked in the database below.
            while True:
                told = r.blpop(noop.DONE_KEY, timeout=10)
                assert told, "the worker did not answer"
                if told[1] == f"exchange_groups.tasks.execute_task:{task.pk}".encode():
                    return task.pk

        def one_noop():
            noop.noop.delay(1)
            wait_done(1)

        engine_times, noop_times, changed = [], [], []
        one_change(), one_change(), one_noop()  # warm up; the account is not a member again
        for i in range(round_trips):
            pair = [(one_change, engine_times), (one_noop, noop_times)]
            for fn, out in pair if i % 2 == 0 else reversed(pair):
                r.delete(noop.DONE_KEY)
                start = time.perf_counter()
                result = fn()
                out.append(time.perf_counter() - start)
                if result:
                    changed.append(result)
        done = Task.objects.filter(pk__in=changed, status="done").count()
        assert done == len(changed) == round_trips, "a change was not applied"
        for label, f in (("p50", median_ms), ("p99", p99_ms)):
            table.add(f"one-item change, submit to done ({label})", f"{f(engine_times):.1f} ms",
                      f"no-op Celery task {f(noop_times):.1f} ms",
                      f"{f(engine_times) / f(noop_times):.1f}x", "")  # fmt: skip

        # Throughput: 1,000 one-item tasks, 10 on each of 100 groups, written first, then
        # sent at once; the no-op side sends 1,000 no-op tasks.
        rates, chosen = {"engine": [], "noop": []}, {}
        for b in range(batches):
            start = time.perf_counter()
            for i in range(batch):
                noop.noop.delay(i)
            wait_done(batch)
            rates["noop"].append(batch / (time.perf_counter() - start))

            ids = []
            sent, engine.enqueue = engine.enqueue, lambda *a, **k: None
            try:
                for g in groups:
                    if b % 2 == 0:  # add accounts that are not members, then remove them
                        fn = services.add_members
                        chosen[g.pk] = list(
                            Account.objects.filter(service=service)
                            .exclude(memberships__group=g)
                            .values_list("pk", flat=True)[: batch // len(groups)]
                        )
                    else:
                        fn = services.remove_members
                    for pk in chosen[g.pk]:
                        ids.append(fn(g, user=user, accounts=[pk]).pk)
            finally:
                engine.enqueue = sent
            r.delete(noop.DONE_KEY)
            start = time.perf_counter()
            engine.enqueue(ids)
            # Polled every 50 ms (each poll costs the database a look at 1,000 rows, on the
            # cores the workers use): at most 50 ms late on about 4 s.
            while Task.objects.filter(pk__in=ids, status="done").count() < len(ids):
                time.sleep(0.05)
            rates["engine"].append(len(ids) / (time.perf_counter() - start))
        e, n = max(rates["engine"]), max(rates["noop"])
        label = f"throughput, {batch} one-item tasks over 100 groups, 2 processes"
        table.add(label, f"{e:.1f} tasks/s", f"no-op {n:.1f} tasks/s", f"{e / n:.2f} of no-op", "")
