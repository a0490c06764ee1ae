"""The README's run command on the embedded default: SQLite, an embedded Redis, a worker
and beat beside the web server, the demo data loaded and its login printed."""

import os
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.worker


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_bin_run_brings_up_the_whole_product(tmp_path):
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY")
    }
    env.update(VAR_DIR=str(tmp_path), PROVISIONING_DELAY="0.5")
    log = tmp_path / "run.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            ["bin/run", "--port", str(port)],
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
        assert "Demo login: demo / demo-exchange-2026" in output
        assert "Embedded Redis" in output

        def get(path):
            for _ in range(100):
                try:
                    return urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5)
                except OSError:
                    time.sleep(0.2)
            raise AssertionError(log.read_text())

        assert get("/admin/login/").status == 200
        assert "Connexion" in get("/login/").read().decode()
        # The worker executes the demo's pending tasks: the new group becomes operational.
        db = sqlite3.connect(tmp_path / "db.sqlite3")
        query = (
            "SELECT g.state FROM exchange_groups_group g JOIN exchange_groups_address a "
            "ON g.address_id = a.id WHERE a.local_part = 'support'"
        )
        deadline = time.monotonic() + 60
        while db.execute(query).fetchone() != ("ok",):
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        assert (tmp_path / "redis.sock").exists()
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    # Everything it started has stopped with it.
    # (On a loaded machine a worker's pool processes take a moment to exit after it.)
    deadline = time.monotonic() + 15
    while True:
        leftover = subprocess.run(["pgrep", "-s", str(process.pid)], capture_output=True, text=True)
        if not leftover.stdout.strip() or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert leftover.stdout.strip() == ""
