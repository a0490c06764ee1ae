"""The README's run command on the embedded default: SQLite, an embedded Redis, a worker
and beat beside the web server, the demo data loaded and its login printed."""

import sqlite3
import time
import urllib.request

import pytest

from .conftest import wait_for
from .run_product import free_port, running

pytestmark = pytest.mark.worker


def test_bin_run_brings_up_the_whole_product(tmp_path):
    port = free_port()
    with running(tmp_path, "--port", str(port), PROVISIONING_DELAY="0.5") as run:
        output = run.output
        assert "Demo login: demo / demo-exchange-2026" in output
        assert "Embedded Redis" in output

        def get(path):
            for _ in range(100):
                try:
                    return urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5)
                except OSError:
                    time.sleep(0.2)
            raise AssertionError(run.output)

        assert get("/admin/login/").status == 200
        assert "Connexion" in get("/login/").read().decode()
        # The worker executes the demo's pending tasks: the new group becomes operational.
        db = sqlite3.connect(tmp_path / "db.sqlite3")
        query = (
            "SELECT g.state FROM exchange_groups_group g JOIN exchange_groups_address a "
            "ON g.address_id = a.id WHERE a.local_part = 'support'"
        )
        wait_for(lambda: db.execute(query).fetchone() == ("ok",), 60, "the group ok",
                 0.5, lambda: run.output)  # fmt: skip
        assert (tmp_path / "redis.sock").exists()
