"""Provider scale: every customer page, support's lists, the exports, the import preview
and the engine, measured beside a baseline in the same run (alternated), on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/panel_bench  # a database of its own: emptied \\
        .venv/bin/python benchmarks/scale.py [--rounds 9] [--sizes 100,1000,10000] [--reuse]

It (re)creates the services `scale-<size>` in that database (the rest is left alone),
then prints one line per figure: its median, the baseline's median, the ratio, and the
SQL queries of one request. Baselines: "bare" (a login-required view rendering 20 group
rows from one query), the admin changelist of the same groups, a no-op Celery task on the
same broker and worker concurrency. It asserts nothing; the README keeps its table.
"""

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import harness  # noqa: E402
from benchmarks.workers import embedded_redis  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--reuse", action="store_true", help="keep the data of a previous run")
    parser.add_argument("--only", default="data,pages,files,engine,workers")
    parser.add_argument("--round-trips", type=int, default=200)
    parser.add_argument("--batch", type=int, default=1000, help="tasks per throughput batch")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    parts = args.only.split(",")
    with embedded_redis() as redis_url:
        harness.setup()
        from benchmarks import data, engine_paths, pages, workers

        if not args.reuse:
            print(f"data: generated in {data.generate(sizes):.1f} s", flush=True)
        print(f"load average at start: {os.getloadavg()[0]:.1f} (2 cores)", flush=True)
        table = harness.Table("what", "median", "baseline", "ratio", "queries")
        if "pages" in parts:
            pages.measure(table, sizes, args.rounds)
        if "files" in parts:
            pages.measure_files(table, max(sizes), sizes)
        if "engine" in parts:
            engine_paths.measure(table, max(sizes))
        if "workers" in parts:
            workers.measure(table, redis_url, max(sizes), args.round_trips, args.batch)
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
        print()
        print(table.markdown())


if __name__ == "__main__":
    main()
