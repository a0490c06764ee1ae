"""What the scale benchmarks share: Django set-up on the configured database, the baseline
"bare" view, and a timer that alternates a measure with its baseline so that a noisy
machine does not bias the ratio."""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Set before anything imports controlpanel (its Celery app would pick the production
# settings): the test settings (HTTP, quick password hashing), files in a temporary folder.
os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlpanel.settings_test")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")


def setup() -> None:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings

    # The bare view is served beside the project's own URLs.
    settings.ROOT_URLCONF = "benchmarks.bare"
    # A new benchmark database gets its tables; an existing one, the missing migrations.
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def median_ms(samples) -> float:
    return statistics.median(samples) * 1000


def p99_ms(samples) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))] * 1000


def alternate(measure, baseline, rounds: int) -> tuple[list[float], list[float]]:
    """Run both `rounds` times, ABAB then BABA..., and return their durations."""
    a, b = [], []
    measure(), baseline()  # warm caches and connections on both sides
    for i in range(rounds):
        pair = [(measure, a), (baseline, b)]
        for fn, out in pair if i % 2 == 0 else reversed(pair):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return a, b


class Table:
    def __init__(self, *columns):
        self.columns = columns
        self.rows = []

    def add(self, *row):
        self.rows.append([str(x) for x in row])
        print(" | ".join(self.rows[-1]), flush=True)

    def markdown(self) -> str:
        lines = ["| " + " | ".join(self.columns) + " |", "|" + "---|" * len(self.columns)]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in self.rows])
