"""`newsflow serve STAGE` started while the broker hangs waits for it instead of exiting.

Found by the soak benchmark: a cluster service killed and restarted during a 30 s broker
pause (SIGSTOP: connections are accepted, nothing answers) died with `BusUnavailable` once
its producer's `connect_timeout_ms` ran out.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.kafka.broker import TansuBroker

REPO = Path(__file__).resolve().parents[2]


def test_a_stage_service_outlives_a_broker_that_hangs_at_its_start(
    own_broker: TansuBroker, tmp_path: Path
) -> None:
    own_broker.start()
    assert own_broker.process is not None
    os.kill(own_broker.process.pid, signal.SIGSTOP)
    heartbeat = tmp_path / "heartbeat"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSFLOW_", "PREFECT_"))}
    env.update(
        PYTHONPATH=str(REPO),
        NEWSFLOW_DATA_DIR=str(tmp_path / "data"),
        NEWSFLOW_KAFKA_BOOTSTRAP=own_broker.bootstrap,
        NEWSFLOW_KAFKA_CONNECT_TIMEOUT_MS="1000",
        NEWSFLOW_KAFKA_GROUP_PREFIX=f"late-{os.getpid()}",
    )
    log = tmp_path / "service.log"
    with log.open("wb") as sink:
        service = subprocess.Popen(
            [sys.executable, "-m", "newsflow", "serve", "index", "--heartbeat", str(heartbeat)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while service.poll() is None and time.monotonic() < deadline:
            if log.read_text(errors="replace").count("retrying") >= 2:
                break  # two connect timeouts ran out, and it is still here
            time.sleep(0.5)
        assert service.poll() is None, "the service exited while the broker hung"
        os.kill(own_broker.process.pid, signal.SIGCONT)
        deadline = time.monotonic() + 60
        while not heartbeat.exists() and time.monotonic() < deadline:
            assert service.poll() is None
            time.sleep(0.5)
        assert heartbeat.exists(), "the service never started its loop"
    finally:
        os.kill(own_broker.process.pid, signal.SIGCONT)
        service.send_signal(signal.SIGTERM)
        service.wait(timeout=60)
    assert service.returncode == 0, log.read_text(errors="replace")[-2000:]
