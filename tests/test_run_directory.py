"""The README's run command with the directory option: a local OpenLDAP started by the run
itself, the demo data provisioned there, and every process stopped with it."""

import re
import sqlite3

import ldap
import pytest

from controlpanel import embedded_slapd

from .conftest import wait_for
from .run_product import free_port, running

pytestmark = pytest.mark.worker


def test_bin_run_directory_runs_the_product_on_a_local_openldap(tmp_path, slapd_server):
    assert embedded_slapd.available()
    with running(tmp_path, "--port", str(free_port()), PROVISIONING_DELAY="0.2",
                 PLATFORM="directory") as run:  # fmt: skip
        output = run.output
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
        wait_for(lambda: db.execute(query).fetchone() == (0,), 120, "no pending task",
                 0.5, lambda: run.output)  # fmt: skip
        groups = conn.search_s(base, ldap.SCOPE_SUBTREE, "(objectClass=exgDistributionGroup)")
        # Every group live in the panel (operational or suspended) is in the directory.
        live = db.execute("SELECT count(*) FROM exchange_groups_group WHERE state != 'creating'")
        assert len(groups) == live.fetchone()[0] >= 6
    # Its data stays for the next run.
    assert (tmp_path / "slapd" / "openldap-data" / "data.mdb").exists()
