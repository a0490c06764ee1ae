"""A real Celery worker process, on the real broker and the test database, for the tests
that show the asynchronous engine at work."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent

# Short timings so that retries, leases and the sweep show within seconds.
FAST = {
    "TASK_MAX_ATTEMPTS": "3",
    "TASK_RETRY_BACKOFF": "0.3",
    "TASK_LEASE_SECONDS": "4",
    "TASK_STALE_SECONDS": "1.5",
    "TASK_SWEEP_INTERVAL": "1",
    "PROVISIONING_DELAY": "0",
    "PROVISIONING_FAILURE_RATE": "0",
}


def test_database_url() -> str:
    """The URL of the database the tests run on, for the worker process to use too."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(s['NAME']).resolve()}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    port = f":{s['PORT']}" if s["PORT"] else ""
    return f"postgres://{auth}@{s['HOST'] or 'localhost'}{port}/{s['NAME']}"


test_database_url.__test__ = False  # not a test, whatever its name


class Worker:
    def __init__(self, tmp_path: Path, env: dict[str, str]):
        self.tmp_path = tmp_path
        self.env = env
        self.process: subprocess.Popen | None = None
        self.runs = 0

    @property
    def log(self) -> str:
        path = self.tmp_path / f"worker-{self.runs}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self, beat: bool = True, **overrides) -> "Worker":
        assert self.process is None, "already running"
        self.runs += 1
        env = {**self.env, **{k: str(v) for k, v in overrides.items()}}
        command = [
            sys.executable, "-m", "celery", "-A", "controlpanel", "worker",
            "--loglevel", "INFO", "--pool", "prefork", "--concurrency", "2",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            "--hostname", f"test-{os.getpid()}-{self.runs}@%h",
        ]  # fmt: skip
        if beat:
            command += ["--beat", "--schedule", str(self.tmp_path / f"beat-{self.runs}")]
        log = open(self.tmp_path / f"worker-{self.runs}.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + 60
        while " ready." not in self.log:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start:\n{self.log}")
            time.sleep(0.1)
        return self

    def kill(self):
        """Kill the worker and its children at once, as a crash or an OOM kill would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None

    def stop(self):
        if self.process is None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None


@pytest.fixture
def worker(transactional_db, tmp_path, redis_url):
    """A factory for a real worker (with beat, for the sweep): `worker.start(**env)`.
    Depends on transactional_db so that it stops before the database is flushed."""
    from controlpanel.celery import app

    # Start from an empty queue: messages left by earlier tests name other tasks.
    with app.connection_for_write() as conn:
        conn.default_channel.client.flushdb()
    env = {
        **os.environ,
        **FAST,
        "DJANGO_SETTINGS_MODULE": "controlpanel.settings_test",
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": redis_url,
        "VAR_DIR": str(tmp_path),
        "SECRET_KEY": "test-secret-key-for-the-worker-process-only-0123456789",
    }
    w = Worker(tmp_path, env)
    yield w
    w.stop()
