"""The README's production steps: collectstatic with DEBUG off, then gunicorn serving pages
with the manifest storage, on the test database."""

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from .conftest import postgresql_only
from .run_product import free_port
from .worker import test_database_url

ROOT = Path(__file__).resolve().parent.parent


def production_env(var_dir, redis_url) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE", "STATIC_ROOT")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="controlpanel.settings",
        VAR_DIR=str(var_dir),
        DATABASE_URL=test_database_url(),
        REDIS_URL=redis_url,
        # TLS ends at the proxy in front of gunicorn, which says so in a header.
        BEHIND_TLS_PROXY="1",
    )
    return env


PROXIED = {"X-Forwarded-Proto": "https", "Authorization": "Bearer exg_not-a-token"}


def get(url: str, headers=PROXIED) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    """`collectstatic` as the README says, once for the module (it compresses every file)."""
    var_dir = tmp_path_factory.mktemp("production")
    env = production_env(var_dir, "redis://unused")
    collect = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert collect.returncode == 0, collect.stderr[-2000:]
    return var_dir


@pytest.fixture
def gunicorn(collected, transactional_db, tmp_path, redis_url):
    env = production_env(collected, redis_url)
    port = free_port()
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "controlpanel.wsgi", "--workers", "1",
         "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(base, timeout=2)
            except urllib.error.HTTPError:
                break
            except OSError:
                assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()
                time.sleep(0.2)
            else:
                break
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_gunicorn_serves_pages_and_hashed_static_files(gunicorn):
    status, _type, page = get(f"{gunicorn}/login/")
    assert status == 200, page[-3000:]
    stylesheet = re.search(rb'href="(/static/vendor/bootstrap/bootstrap\.min\.\w+\.css)"', page)
    assert stylesheet, page[:3000]
    status, content_type, css = get(gunicorn + stylesheet.group(1).decode())
    assert status == 200 and content_type.startswith("text/css") and b".btn" in css


@postgresql_only("cutting connections needs PostgreSQL")
def test_a_lost_database_connection_does_not_fail_the_next_request(gunicorn):
    api = f"{gunicorn}/api/1.0/email/exchange/o/service/s/task"
    assert get(api)[0] == 401  # the token was looked up in the database
    with connection.cursor() as cursor:  # a failover, a restarted server...
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    status, content_type, body = get(api)
    assert (status, content_type) == (401, "application/json"), body[:500]


@pytest.mark.worker
def test_the_health_endpoint_covers_database_redis_and_a_worker(gunicorn, worker):
    """What a load balancer or an orchestrator probes, over plain HTTP."""

    def health():
        status, _type, body = get(f"{gunicorn}/health/?format=json", headers={})
        return status, json.loads(body)

    status, body = health()
    assert status == 500
    failing = [name for name, result in body.items() if "unavailable" in str(result).lower()]
    assert failing and all("Ping" in name for name in failing), body
    worker.start(beat=False)
    status, body = health()
    assert status == 200, body
    assert any("Database" in name for name in body) and any("Cache" in name for name in body)


@postgresql_only("asynchronous commit is PostgreSQL's")
@pytest.mark.parametrize("as_worker, expected", [(True, "off"), (False, "on")])
def test_only_a_worker_commits_without_waiting_for_the_disk(as_worker, expected):
    """A worker's commits do not wait for the disk: a task whose outcome a database crash
    loses is applied again. The web's do: a change the customer was told is taken into
    account is on disk. Each checked in a process of its own, started as Celery starts a
    worker (its worker_init signal) or as the web starts."""
    start = "worker_init.send(sender=None)" if as_worker else "pass"
    script = (
        "import django; django.setup(); import controlpanel.celery; "
        f"from celery.signals import worker_init; {start}; "
        "from django.db import connection; cursor = connection.cursor(); "
        "cursor.execute('SHOW synchronous_commit'); print(cursor.fetchone()[0])"
    )
    env = {**os.environ, "DATABASE_URL": test_database_url(),
           "DJANGO_SETTINGS_MODULE": "controlpanel.settings_test"}  # fmt: skip
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == expected
