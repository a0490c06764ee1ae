"""The README's run command with the directory option: a local OpenLDAP started by the run
itself, the demo data provisioned there, and every process stopped with it."""

import os
import re
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import ldap
import pytest

from controlpanel import embedded_slapd

from .test_run_command import free_port

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.worker


def test_bin_run_directory_runs_the_product_on_a_local_openldap(tmp_path, slapd_server):
    assert embedded_slapd.available()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY")
        and not k.startswith("LDAP_")
    }
    env.update(VAR_DIR=str(tmp_path), PROVISIONING_DELAY="0.2", PLATFORM="directory")
    log = tmp_path / "run.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            ["bin/run", "--port", str(free_port())],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while "Ctrl-C stops it" not in log.read_text(errors="replace"):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        output = log.read_text()
        assert "Directory provisioned: 6 groups written" in output
        url = re.search(r"OpenLDAP on (ldap://[\d.:]+)", output).group(1)
        bind_dn, password = re.search(r"bind as (\S+) / (\S+)\)", output).groups()

        conn = ldap.initialize(url)
        conn.simple_bind_s(bind_dn, password)
        base = "dc=exchange,dc=local"
        mailboxes = conn.search_s(base, ldap.SCOPE_SUBTREE, "(mail=*)", ["1.1"])
        accounts = [dn for dn, _ in mailboxes if ",ou=accounts," in dn]
        assert len(accounts) == 55  # the demo customer's 50 and the other one's 5
        # The worker applies the demo's pending tasks to the directory: the group still
        # being created appears there once operational.
        db = sqlite3.connect(tmp_path / "db.sqlite3")
        query = "SELECT count(*) FROM exchange_groups_task WHERE status IN ('todo', 'doing')"
        while db.execute(query).fetchone() != (0,):
            assert time.monotonic() < deadline + 60, log.read_text()
            time.sleep(0.5)
        groups = conn.search_s(base, ldap.SCOPE_SUBTREE, "(objectClass=exgDistributionGroup)")
        # Every group live in the panel (operational or suspended) is in the directory.
        live = db.execute("SELECT count(*) FROM exchange_groups_group WHERE state != 'creating'")
        assert len(groups) == live.fetchone()[0] >= 6
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    # (On a loaded machine a worker's pool processes take a moment to exit after it.)
    deadline = time.monotonic() + 15
    while True:
        leftover = subprocess.run(["pgrep", "-s", str(process.pid)], capture_output=True, text=True)
        if not leftover.stdout.strip() or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert leftover.stdout.strip() == ""
    # Its data stays for the next run.
    assert (tmp_path / "slapd" / "openldap-data" / "data.mdb").exists()
