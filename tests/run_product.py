"""The README's run command (bin/run), started as a user starts it, for the tests of it:
in its own process group, with none of the test run's database, Redis or LDAP settings,
its files in a folder of the test's. Stopped with Ctrl-C, after which nothing it started
may be left running."""

import os
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The test run's own settings, which the product must not inherit.
NOT_INHERITED = ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Run:
    process: subprocess.Popen
    log: Path

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def running(var_dir: Path, *args: str, **env: str):
    """bin/run with `args`, up once it says "Ctrl-C stops it" (within 120 s)."""
    environ = {
        k: v for k, v in os.environ.items() if k not in NOT_INHERITED and not k.startswith("LDAP_")
    }
    environ.update(VAR_DIR=str(var_dir), **env)
    log = var_dir / "run.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            ["bin/run", *args],
            cwd=ROOT,
            env=environ,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    run = Run(process, log)
    try:
        deadline = time.monotonic() + 120
        while "Ctrl-C stops it" not in run.output:
            assert process.poll() is None, run.output
            assert time.monotonic() < deadline, run.output
            time.sleep(0.2)
        yield run
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    # Everything it started has stopped with it (on a loaded machine a worker's pool
    # processes take a moment to exit after it).
    deadline = time.monotonic() + 15
    while True:
        left = subprocess.run(["pgrep", "-s", str(process.pid)], capture_output=True, text=True)
        if not left.stdout.strip() or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert left.stdout.strip() == "", "left running after Ctrl-C"
