"""Run the whole product in the foreground: the embedded Redis when no REDIS_URL is
configured, migrations and the demo data (once), then the web server, a Celery worker and
Celery beat. Ctrl-C stops everything.

With --directory (or PLATFORM=directory), the platform is real: a local OpenLDAP is started
in var/slapd (controlpanel/local_platform.py), the directory backend is selected, and the
demo's accounts and live groups are written to the directory.

Each piece is a separate process, as in production; to scale, run more workers (even on
other machines) against the same DATABASE_URL and REDIS_URL.
"""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from controlpanel import embedded_redis, local_platform


class Command(BaseCommand):
    help = "Run the web server, a Celery worker, Celery beat (and the embedded Redis)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
        parser.add_argument(
            "--no-demo", action="store_true", help="do not load the demo data (loaded once)"
        )
        parser.add_argument(
            "--directory",
            action="store_true",
            default=os.environ.get("PLATFORM", "") == "directory",
            help="run on a local OpenLDAP (the directory platform) instead of the built-in one",
        )
        parser.add_argument(
            "--concurrency",
            default=os.environ.get("WORKER_CONCURRENCY", "2"),
            help="worker processes",
        )

    def handle(self, *args, host, port, concurrency, no_demo, directory, **options):
        var_dir = settings.VAR_DIR
        var_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        processes: list[tuple[str, subprocess.Popen]] = []

        if not os.environ.get("REDIS_URL"):
            socket_path = var_dir / "redis.sock"
            processes.append(("redis", embedded_redis.start(socket_path, var_dir / "redis.log")))
            env["REDIS_URL"] = embedded_redis.socket_url(socket_path)
            self.stdout.write(f"Embedded Redis on {socket_path}")

        platform = None
        if directory:
            try:
                platform = local_platform.start(var_dir)
            except local_platform.PlatformUnavailable as exc:
                for _name, process in processes:
                    process.terminate()
                raise CommandError(str(exc)) from exc
            processes[len(processes) :] = platform.processes
            env.update(platform.env)
            # This process provisions the directory below: it uses the same settings.
            for name, value in platform.env.items():
                setattr(settings, name, value)
            from exchange_groups import engine

            engine.get_backend.cache_clear()

        # With Redis up, the demo's first tasks are sent to the worker as they are created.
        call_command("migrate", interactive=False, verbosity=0)
        if not no_demo:
            call_command("seed_demo", stdout=self.stdout)
        if platform is not None:
            call_command(
                "provision_platform",
                mailbox_password=local_platform.DEMO_MAILBOX_PASSWORD,
                stdout=self.stdout,
            )

        python = sys.executable
        commands = {
            "worker": [
                python, "-m", "celery", "-A", "controlpanel", "worker",
                "--loglevel", "INFO", "--concurrency", str(concurrency),
            ],
            "beat": [
                python, "-m", "celery", "-A", "controlpanel", "beat", "--loglevel", "INFO",
                "--schedule", str(var_dir / "celerybeat-schedule"),
            ],
            "web": [python, "manage.py", "runserver", f"{host}:{port}", "--noreload"],
        }  # fmt: skip
        for name, command in commands.items():
            processes.append((name, subprocess.Popen(command, env=env)))

        self.stdout.write(
            self.style.SUCCESS(
                f"\nThe control panel runs on http://{host}:{port}/  "
                f"(admin: http://{host}:{port}/admin/). Ctrl-C stops it.\n"
            )
        )
        for note in platform.notes if platform else []:
            self.stdout.write(note)
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            while not stopping:
                for name, process in processes:
                    if process.poll() is not None:
                        self.stderr.write(f"{name} exited with {process.returncode}; stopping.")
                        stopping = True
                time.sleep(0.5)
        finally:
            # One by one, Redis last, so that the worker shuts down cleanly first.
            for _name, process in reversed(processes):
                if process.poll() is None:
                    process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
