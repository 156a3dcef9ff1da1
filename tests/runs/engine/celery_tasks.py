"""Tasks that tests of the engine send to real ``runs worker`` processes (importable by them)."""

from __future__ import annotations

import time
from pathlib import Path

from runs import task


@task(timeout_seconds=0.2, retries=1, retry_delay_seconds=0)
def times_out_once(counter_file: str) -> int:
    """Counts attempts in a file (they happen in another process); the first one is too slow."""
    path = Path(counter_file)
    attempts = int(path.read_text() or 0) + 1 if path.exists() else 1
    path.write_text(str(attempts))
    if attempts == 1:
        time.sleep(3)
    return attempts
