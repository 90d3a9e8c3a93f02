"""SQLAlchemy is imported lazily; two threads reaching it at once must not break it for the process.

The race needs a fresh interpreter (imports are per process), so each try runs in a subprocess: the
job worker's first query and the request-log writer's first probe, released together by a barrier,
as at server start-up. Before ``load_sqlalchemy`` about two tries in three left every later database
call failing ("partially initialized module 'sqlalchemy.sql.roles'").
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

RACE = """
import sys, threading
from pathlib import Path
from capsight.jobs.store import JobStore
from capsight.store.batchwriter import BatchWriter
from capsight.store.database import Database
root = Path(sys.argv[1])
db = Database(f"sqlite:///{root}/capsight.db")
barrier = threading.Barrier(2)
errors = []
def jobs():
    barrier.wait()
    try:
        JobStore(db).recover(lambda job: False)
    except Exception as exc:
        errors.append(repr(exc))
def log():
    barrier.wait()
    try:
        BatchWriter(db, None, root).probe()
    except Exception as exc:
        errors.append(repr(exc))
threads = [threading.Thread(target=jobs), threading.Thread(target=log)]
[t.start() for t in threads]
[t.join() for t in threads]
JobStore(db).get("0" * 32)  # the database layer still works afterwards
print("errors:", errors)
"""


def test_first_database_use_on_two_threads_at_once(tmp_path: Path) -> None:
    for attempt in range(4):
        root = tmp_path / str(attempt)
        root.mkdir()
        run = subprocess.run(
            [sys.executable, "-c", RACE, str(root)], capture_output=True, text=True, timeout=120
        )
        assert run.returncode == 0, run.stderr[-2000:]
        assert run.stdout.strip() == "errors: []", run.stdout
