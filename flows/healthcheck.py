"""Container health checks, standard library only so they start in milliseconds.

python -m flows.healthcheck http URL            # healthy when URL answers 2xx
python -m flows.healthcheck heartbeat PATH AGE  # healthy when PATH changed in the last AGE s
"""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def http_ok(url: str, timeout_s: float = 5.0) -> bool:
    """Whether `url` answers with a 2xx status within `timeout_s`."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return 200 <= int(response.status) < 300
    except (urllib.error.URLError, OSError):
        return False


def heartbeat_fresh(path: Path, max_age_s: float) -> bool:
    """Whether `path` exists and was modified less than `max_age_s` seconds ago."""
    try:
        return time.time() - path.stat().st_mtime < max_age_s
    except OSError:
        return False


def touch_heartbeat(path: Path) -> None:
    """Record that the service is alive (what `heartbeat` checks)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


def main(argv: list[str]) -> int:
    """Exit status 0 when healthy, 1 when not, 2 on a usage error."""
    match argv:
        case ["http", url]:
            healthy = http_ok(url)
        case ["heartbeat", path, max_age]:
            healthy = heartbeat_fresh(Path(path), float(max_age))
        case _:
            print(__doc__, file=sys.stderr)
            return 2
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
