"""Soak: the whole system under a sustained, faulty stream, reconciling every item.

    python benchmarks/soak.py --minutes 6 --out /tmp/soak [--transport kafka|embedded]
        [--feeds 300] [--poll-interval 30] [--drain 240] [--seed 18]

A simulated newsroom (`benchmarks/newsroom.py`) publishes on loopback while the real
services run as separate processes: with `--transport kafka` a Tansu broker, osmem-server,
a `prefect server`, the poller (`newsflow serve --feeds`, the Prefect deployment path),
`newsflow serve cluster` and `newsflow serve index`; with `--transport embedded` one
`newsflow run --feeds` on the in-process bus and SQLite store. Faults follow a schedule
(`fault_schedule`): services SIGKILLed and restarted, the broker and the search server
paused (SIGSTOP/SIGCONT), and the outlets' own misbehaviour. After the stream stops and the
pipeline drains, every published item is reconciled against the store and the run's skip
records (`benchmarks/soak_report.py`), and DIR/report.json, report.md and report.png are
written. Needs the `bench` extra (psutil, matplotlib).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script, from anywhere

from benchmarks import newsroom
from benchmarks.soak_report import (
    Published,
    Reconciliation,
    SkipRecord,
    StoredArticle,
    build_report,
    freshness,
    percentiles,
    reconcile,
    skip_reason,
    write_report,
)
from newsflow.config import KafkaSettings, SearchSettings, Settings
from newsflow.pipeline import open_store, subscriptions
from newsflow.store import SearchStore
from newsflow.urls import article_id, canonicalize

SAMPLE_EVERY_S = 2.0
LAG_EVERY_S = 10.0
RESTART_AFTER_S = 5.0
PAUSE_S = 30.0
WARM_UP_S = 60.0
READY_TIMEOUT_S = 600.0
MIB = 1024 * 1024
_SKIP_LINE = re.compile(r"^skipped ([a-z-]+): (\S+)(?: \((.*)\))?\s*$")
_COUNTED = re.compile(r"(\d+) ([a-z-]+)")


# --- the fault schedule (pure) --------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """`kind` (kill or pause) of `target` at `at_s` for `duration_s` (down or paused)."""

    kind: str
    target: str
    at_s: float
    duration_s: float

    def record(self) -> dict[str, Any]:
        return {
            "kind": f"{self.kind}-{self.target}",
            "at_s": self.at_s,
            "duration_s": self.duration_s,
        }


def fault_schedule(transport: str, minutes: float, publish_share: float = 0.85) -> list[Fault]:
    """Faults spread evenly between the warm-up and the end of publishing.

    Kafka: kill the cluster consumer, pause the broker, kill the indexer, pause the search
    server, kill the poller. Embedded: kill `newsflow run` twice.
    """
    steps = (
        [
            ("kill", "cluster"),
            ("pause", "broker"),
            ("kill", "index"),
            ("pause", "search"),
            ("kill", "poller"),
        ]
        if transport == "kafka"
        else [("kill", "run"), ("kill", "run")]
    )
    end = minutes * 60 * publish_share
    if end <= WARM_UP_S:
        return []
    gap = (end - WARM_UP_S) / len(steps)
    return [
        Fault(
            kind,
            target,
            round(WARM_UP_S + i * gap, 1),
            PAUSE_S if kind == "pause" else RESTART_AFTER_S,
        )
        for i, (kind, target) in enumerate(steps)
    ]


def parse_run_skips(log_text: str) -> list[SkipRecord]:
    """The item skips `newsflow run` printed (`skipped <reason>: <url> (<detail>)`)."""
    records = []
    for line in log_text.splitlines():
        match = _SKIP_LINE.match(line.strip())
        if match:
            reason, url, detail = match.groups()
            records.append(SkipRecord(skip_reason(reason, detail or ""), url=url))
    return records


def parse_feed_table(rows: list[dict[str, Any]]) -> list[SkipRecord]:
    """The item skips counted per feed in a poll-feeds table artifact."""
    records = []
    for row in rows:
        if row.get("status") not in ("new", "unchanged"):
            continue  # a failed or not-due feed's reason is about the feed, not its items
        for count, reason in _COUNTED.findall(str(row.get("reason", ""))):
            records.append(SkipRecord(reason, feed=str(row.get("url")), count=int(count)))
    return records


# --- processes ------------------------------------------------------------------------------


@dataclass
class Usage:
    """CPU seconds and peak memory of a process tree, from samples."""

    cpu_by_pid: dict[int, float] = field(default_factory=dict)
    peak_rss: int = 0
    restarts: int = 0

    def sample(self, pid: int | None) -> None:
        if pid is None:
            return
        try:
            root = psutil.Process(pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            return
        rss = 0
        for proc in tree:
            try:
                times = proc.cpu_times()
                self.cpu_by_pid[proc.pid] = times.user + times.system
                rss += proc.memory_info().rss
            except psutil.Error:
                continue
        self.peak_rss = max(self.peak_rss, rss)

    def summary(self) -> dict[str, float]:
        return {
            "cpu_s": round(sum(self.cpu_by_pid.values()), 1),
            "peak_rss_mib": round(self.peak_rss / MIB, 1),
            "restarts": self.restarts,
        }


class Service:
    """A command run as its own process group, killed and restarted by the fault schedule."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.argv, self.env, self.log = name, argv, env, log
        self.process: subprocess.Popen[bytes] | None = None
        self.usage = Usage()

    def current_pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self) -> None:
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL the whole process group (the Prefect runner's flow-run children too)."""
        if self.process is not None and self.process.poll() is None:
            self.usage.sample(self.process.pid)
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def restart(self) -> None:
        self.usage.restarts += 1
        self.start()

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def tail(self, lines: int = 3) -> str:
        """The last lines of the service's log (why it exited)."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM (the consumers finish their batch), then SIGKILL after 30 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.usage.sample(self.process.pid)
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class Watched:
    """A process the harness started some other way (broker, search, Prefect server)."""

    name: str
    pid_of: Callable[[], int | None]
    usage: Usage = field(default_factory=Usage)

    def current_pid(self) -> int | None:
        return self.pid_of()


def _signal(pid: int | None, signum: int) -> None:
    if pid is not None:
        os.kill(pid, signum)


# --- the store, watched from the side -------------------------------------------------------


class StoreWatch:
    """Polls the store for the published items' ids and notes when each became searchable."""

    def __init__(self, settings: Settings, published_log: Path) -> None:
        self.settings = settings
        self.published_log = published_log
        self.appeared: dict[str, float] = {}
        self.expect: dict[str, str | None] = {}
        self.feed: dict[str, str] = {}
        self.outlet: dict[str, int] = {}
        self.ids: dict[str, str] = {}  # article id -> item url
        self.searchable: dict[str, float] = {}
        self.errors = 0
        self._offset = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)

    def read_published(self) -> None:
        if not self.published_log.exists():
            return
        with self.published_log.open(encoding="utf-8") as lines:
            lines.seek(self._offset)
            while line := lines.readline():
                if not line.endswith("\n"):
                    break
                self._offset += len(line.encode("utf-8"))
                record = json.loads(line)
                url = record["url"]
                self.appeared[url] = record["appeared_at"]
                self.expect[url] = record["expect"]
                self.feed[url] = record["feed"]
                self.outlet[url] = record["outlet"]
                self.ids[article_id(canonicalize(url))] = url

    def _loop(self) -> None:
        store: SearchStore | None = None
        while not self._stop.wait(SAMPLE_EVERY_S):
            self.read_published()
            pending = [key for key, url in self.ids.items() if url not in self.searchable]
            try:
                store = store or open_store(self.settings)
                found = store.get_articles(pending) if pending else []
            except Exception:  # paused or restarting: try again next round
                self.errors += 1
                continue
            now = time.time()
            for article in found:
                self.searchable.setdefault(self.ids[article.id], now)
        if store is not None:
            store.close()


def stored_documents(settings: Settings, ids: list[str]) -> tuple[list[StoredArticle], set[str]]:
    """Every stored article of every story, plus those with the items' ids; the story ids."""
    store = open_store(settings)
    try:
        stories = store.stories(limit=9000)
        docs: dict[tuple[str, str], StoredArticle] = {}
        for story in stories:
            for article in store.story_articles(story.id):
                docs[(article.id, article.url)] = StoredArticle(
                    article.id, article.url, article.story_id
                )
        for start in range(0, len(ids), 500):
            for article in store.get_articles(ids[start : start + 500]):
                docs.setdefault(
                    (article.id, article.url),
                    StoredArticle(article.id, article.url, article.story_id),
                )
        return list(docs.values()), {story.id for story in stories}
    finally:
        store.close()


# --- Prefect and Kafka read-outs ------------------------------------------------------------


def _post(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def artifact_skips(api_url: str) -> list[SkipRecord]:
    """Item skips from every version of the poll-feeds feed tables."""
    records: list[SkipRecord] = []
    offset = 0
    while True:
        page = _post(
            f"{api_url}/artifacts/filter",
            {
                "artifacts": {"key": {"any_": ["poll-feeds-soak-feeds"]}},
                "limit": 200,
                "offset": offset,
            },
        )
        for artifact in page:
            data = artifact.get("data")
            rows = json.loads(data) if isinstance(data, str) else data
            records += parse_feed_table(rows or [])
        if len(page) < 200:
            return records
        offset += 200


def prefect_stats(api_url: str) -> dict[str, Any]:
    """poll-feeds runs by state and their durations; task runs in all."""
    runs: list[dict[str, Any]] = []
    offset = 0
    while True:
        page = _post(f"{api_url}/flow_runs/filter", {"limit": 200, "offset": offset})
        runs += page
        if len(page) < 200:
            break
        offset += 200
    states: dict[str, dict[str, int]] = {}
    durations = []
    for run in runs:
        name = (run.get("deployment_id") and "poll-feeds") or "consumer-batches"
        by_state = states.setdefault(name, {})
        state = (run.get("state") or {}).get("type", "UNKNOWN")
        by_state[state] = by_state.get(state, 0) + 1
        if name == "poll-feeds" and state == "COMPLETED":
            durations.append(float(run.get("total_run_time") or 0.0))
    tasks = _post(f"{api_url}/task_runs/count", {})
    return {"flow_runs": states, "task_runs": tasks, "poll_run_s": percentiles(durations)}


def kafka_lag(kafka: KafkaSettings, settings: Settings) -> int | None:
    from connectors.kafka.offsets import group_lag

    try:
        return sum(
            row.lag
            for sub in subscriptions(settings).values()
            for row in group_lag(kafka, sub.group, sub.topics)
        )
    except Exception:  # the broker is paused: no reading this time
        return None


def dead_letters(kafka: KafkaSettings) -> int | None:
    """Messages on the dead-letter topic (a group that never commits sees them all as lag)."""
    from connectors.kafka.offsets import group_lag

    try:
        return sum(
            row.lag for row in group_lag(kafka, "soak-dead-letter-count", [kafka.topic_dead_letter])
        )
    except Exception:
        return None


# --- the run --------------------------------------------------------------------------------


def base_env(args: argparse.Namespace) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "NEWSFLOW_"))}
    floor = args.poll_interval / 2 / 60
    env.update(
        PYTHONUNBUFFERED="1",
        COLUMNS="10000",  # skip lines must not wrap: the harness reads them back
        NEWSFLOW_FETCH_ALLOWED_NETWORKS="127.0.0.0/8",
        # A feed's own interval stays between half the poll interval and the poll interval,
        # so every scheduled poll finds every feed due (see docs/deploy.md, soak).
        NEWSFLOW_FETCH_POLL_FLOOR_MINUTES=f"{floor:.4f}",
        NEWSFLOW_FETCH_POLL_CEILING_MINUTES=f"{args.poll_interval / 60:.4f}",
        NEWSFLOW_FETCH_CONCURRENCY="16",
        NEWSFLOW_FETCH_CONNECT_TIMEOUT_S="5",
        NEWSFLOW_FETCH_READ_TIMEOUT_S="5",
        NEWSFLOW_FETCH_TOTAL_TIMEOUT_S="15",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_LEVEL="WARNING",
    )
    return env


@contextmanager
def kafka_backends(work: Path) -> Iterator[tuple[Any, Any, Any]]:
    """Tansu, osmem-server and a Prefect server (with its scheduler), all on loopback."""
    from osmem_server import OsmemServer  # type: ignore[import-untyped]

    from tests.flows.prefect_server import running_prefect_server
    from tests.kafka.broker import free_port, running_tansu

    with ExitStack() as stack:
        broker = stack.enter_context(running_tansu())
        search = OsmemServer.start(addr=f"127.0.0.1:{free_port()}", japanese=False)
        stack.callback(search.close)
        prefect = stack.enter_context(running_prefect_server(work / "prefect", scheduler=True))
        yield broker, search, prefect


@dataclass
class System:
    """The processes of one soak and how the harness reads the store and the bus."""

    settings: Settings
    services: list[Service]
    watched: list[Watched] = field(default_factory=list)
    kafka: KafkaSettings | None = None
    api_url: str | None = None

    def stop(self) -> None:
        for service in self.services:
            service.stop()

    def processes(self) -> list[Service | Watched]:
        return [*self.services, *self.watched]

    def sample(self) -> None:
        for thing in self.processes():
            thing.usage.sample(thing.current_pid())

    def usage(self) -> dict[str, dict[str, float]]:
        return {thing.name: thing.usage.summary() for thing in self.processes()}


def start_system(args: argparse.Namespace, work: Path, port: int, stack: ExitStack) -> System:
    """Start the services of `args.transport` against the feed list of the newsroom."""
    newsflow_bin = str(Path(sys.executable).with_name("newsflow"))
    feeds_file = work / "feeds.yml"
    env = base_env(args)
    logs = work / "logs"
    if args.transport == "embedded":
        env["NEWSFLOW_DATA_DIR"] = str(work / "run")
        run = Service(
            "run", [newsflow_bin, "run", "--feeds", str(feeds_file)], env, logs / "run.log"
        )
        system = System(Settings(data_dir=work / "run"), [run])
    else:
        broker, search, prefect = stack.enter_context(kafka_backends(work))
        env.update(
            NEWSFLOW_KAFKA_BOOTSTRAP=broker.bootstrap,
            NEWSFLOW_OPENSEARCH_URL=search.url,
            # Quick rejoins after a kill, so that a restarted member is not kept waiting.
            NEWSFLOW_KAFKA_SESSION_TIMEOUT_MS="10000",
            NEWSFLOW_KAFKA_HEARTBEAT_INTERVAL_MS="1000",
            NEWSFLOW_KAFKA_BATCH_MAX_WAIT_MS="500",
            PREFECT_API_URL=prefect.api_url,
            PREFECT_HOME=str(work / "prefect-client"),
        )
        settings = Settings(
            data_dir=work / "harness",
            kafka=KafkaSettings(
                bootstrap=broker.bootstrap, request_timeout_ms=5000, connect_timeout_ms=5000
            ),
            search=SearchSettings(
                opensearch_url=search.url, search_timeout_s=5, search_retry_max_s=5
            ),
        )
        poller_env = {
            "NEWSFLOW_KAFKA_SERVICES_RUNNING": "true",
            "PREFECT_RUNNER_POLL_FREQUENCY": "2",
        }
        commands = {
            "poller": (
                ["serve", "--feeds", str(feeds_file), "--seeds", str(work / "no-seeds")],
                poller_env,
            ),
            "cluster": (["serve", "cluster"], {}),
            "index": (["serve", "index"], {}),
        }
        services = [
            Service(
                name,
                [newsflow_bin, *argv],
                {**env, "NEWSFLOW_DATA_DIR": str(work / name), **extra},
                logs / f"{name}.log",
            )
            for name, (argv, extra) in commands.items()
        ]
        watched = [
            Watched("broker", lambda: broker.process.pid if broker.process else None),
            Watched("search", lambda: int(search.process.pid)),
            Watched("prefect-server", lambda: _pid_listening(prefect.api_url)),
        ]
        system = System(settings, services, watched, settings.kafka, prefect.api_url)
    stack.callback(system.stop)
    for service in system.services:
        service.start()
    return system


@dataclass
class Run:
    """What the harness saw while the stream ran and drained."""

    timeline: list[dict[str, float]] = field(default_factory=list)
    faults: list[dict[str, Any]] = field(default_factory=list)
    crashes: list[dict[str, Any]] = field(default_factory=list)
    duration_s: float = 0.0


def drive(
    system: System,
    faults: list[Fault],
    watch: StoreWatch,
    start: float,
    stream_end_s: float,
    poll_interval_s: float,
    drain_s: float,
) -> Run:
    """Inject `faults` on time, restart crashed services, sample usage, lag and the store;
    return once everything published is searchable or nothing more arrives."""
    targets = {thing.name: thing for thing in system.processes()}
    run = Run()
    pending = sorted(faults, key=lambda f: f.at_s)
    ending: list[tuple[float, Fault]] = []
    last_lag, lag = -LAG_EVERY_S, None
    while True:
        time.sleep(SAMPLE_EVERY_S)
        now_s = time.time() - start
        while pending and pending[0].at_s <= now_s:
            fault = pending.pop(0)
            _begin(fault, targets[fault.target])
            run.faults.append({**fault.record(), "at_s": round(now_s, 1)})
            ending.append((now_s + fault.duration_s, fault))
            print(f"  {now_s:6.0f} s  fault: {fault.kind} {fault.target}", flush=True)
        for due, fault in list(ending):
            if due <= now_s:
                _end(fault, targets[fault.target])
                ending.remove((due, fault))
        down = {fault.target for _, fault in ending}
        for service in system.services:  # as `restart: unless-stopped` does in docker compose
            if service.name not in down and service.exited():
                run.crashes.append(
                    {"service": service.name, "at_s": round(now_s, 1), "log": service.tail()}
                )
                print(f"  {now_s:6.0f} s  {service.name} exited by itself: restarted", flush=True)
                service.restart()
        system.sample()
        if system.kafka is not None and now_s - last_lag >= LAG_EVERY_S:
            last_lag, lag = now_s, kafka_lag(system.kafka, system.settings)
        point = {
            "t_s": round(now_s, 1),
            "published": len(watch.appeared),
            "stored": len(watch.searchable),
        }
        if lag is not None:
            point["lag"] = lag
        run.timeline.append(point)
        run.duration_s = now_s
        if now_s < stream_end_s or ending:
            continue
        if len(watch.searchable) == len(watch.appeared):
            return run
        if now_s > stream_end_s + drain_s:
            return run
        # Quiet for longer than two polls, than the longest wait seen between stores (a round
        # of `newsflow run` stores nothing until it ends) and than half the drain allowance.
        if not point["stored"]:
            continue
        quiet_for = now_s - _last_store_at(run.timeline)
        longest = _longest_store_gap(run.timeline)
        if quiet_for > max(2 * poll_interval_s + 20, 1.5 * longest, drain_s / 2):
            return run


def _store_times(timeline: list[dict[str, float]]) -> list[float]:
    """The start, then every time the stored count grew."""
    grew = [b["t_s"] for a, b in itertools.pairwise(timeline) if b["stored"] > a["stored"]]
    return [timeline[0]["t_s"], *grew]


def _last_store_at(timeline: list[dict[str, float]]) -> float:
    """When the stored count last grew."""
    return _store_times(timeline)[-1]


def _longest_store_gap(timeline: list[dict[str, float]]) -> float:
    """The longest wait for the stored count to grow (from the start, or between growths)."""
    return max((b - a for a, b in itertools.pairwise(_store_times(timeline))), default=0.0)


def _begin(fault: Fault, target: Service | Watched) -> None:
    if isinstance(target, Service):
        target.kill()
    else:
        _signal(target.current_pid(), signal.SIGSTOP)


def _end(fault: Fault, target: Service | Watched) -> None:
    if isinstance(target, Service):
        target.restart()
    else:
        _signal(target.current_pid(), signal.SIGCONT)


def settle(system: System, watch: StoreWatch) -> tuple[Reconciliation, dict[str, Any]]:
    """Stop the services, read the skip records and the store, and reconcile."""
    extra: dict[str, Any] = {}
    watch.stop()
    system.sample()
    if system.api_url is not None:
        skips = artifact_skips(system.api_url)
        extra["prefect"] = prefect_stats(system.api_url)
    system.stop()
    if system.api_url is None:
        skips = parse_run_skips(system.services[0].log.read_text(errors="replace"))
    watch.read_published()
    stored, story_ids = stored_documents(system.settings, list(watch.ids))
    extra["dead_letters"] = dead_letters(system.kafka) if system.kafka is not None else None
    published = [
        Published(url, watch.feed[url], at, watch.expect[url]) for url, at in watch.appeared.items()
    ]
    return reconcile(published, stored, skips, story_ids), extra


def wait_for_first_poll(room: newsroom.Served, feeds: int, timeout_s: float) -> float:
    """Wait until the pipeline has requested every outlet's feed; the seconds it took."""
    began = time.monotonic()
    while room.feeds_polled() < feeds and time.monotonic() - began < timeout_s:
        time.sleep(1.0)
    return time.monotonic() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--minutes", type=float, default=6.0, help="how long the newsroom publishes"
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--transport", choices=("kafka", "embedded"), default="kafka")
    parser.add_argument("--feeds", type=int, default=300)
    parser.add_argument("--poll-interval", type=float, default=30.0)
    parser.add_argument("--drain", type=float, default=240.0, help="longest wait for the tail, s")
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--no-faults", action="store_true", help="outlets still misbehave")
    args = parser.parse_args()
    # SIGTERM unwinds like Ctrl-C, so the services, broker and servers are stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    out: Path = args.out
    work = out / "work"
    shutil.rmtree(work, ignore_errors=True)
    (work / "logs").mkdir(parents=True)
    plan_ = newsroom.plan(args.feeds, args.minutes, seed=args.seed)
    published_log = work / "published.jsonl"
    faults = [] if args.no_faults else fault_schedule(args.transport, args.minutes)
    with ExitStack() as stack:
        lifetime = args.minutes * 60 + args.drain + 600
        room = stack.enter_context(newsroom.serving(plan_, published_log, lifetime))
        (work / "feeds.yml").write_text(
            newsroom.feed_list_yaml(plan_, room.port, args.poll_interval / 60)
        )
        system = start_system(args, work, room.port, stack)
        watch = StoreWatch(system.settings, published_log)
        watch.start()
        print(
            f"soak: {args.transport}, {args.feeds} outlets, {len(plan_.items)} items planned, "
            f"{len(faults)} faults; logs in {work / 'logs'}",
            flush=True,
        )
        warm_up = wait_for_first_poll(room, args.feeds, READY_TIMEOUT_S)
        print(f"  every feed polled once after {warm_up:.0f} s: the newsroom starts publishing")
        room.start()
        run = drive(
            system,
            faults,
            watch,
            room.started_at,
            args.minutes * 60,
            args.poll_interval,
            args.drain,
        )
        print(
            f"  {run.duration_s:6.0f} s  drained: {len(watch.searchable)}/{len(watch.appeared)} searchable"
        )
        rec, extra = settle(system, watch)
    all_faults = run.faults + newsroom.fault_records(plan_)
    fresh = freshness(
        watch.appeared,
        watch.searchable,
        all_faults,
        room.started_at,
        args.poll_interval + 10,
        watch.outlet,
    )
    report = build_report(
        rec,
        transport=args.transport,
        feeds=args.feeds,
        minutes=args.minutes,
        poll_interval_s=args.poll_interval,
        fresh=fresh,
        faults=all_faults,
        duration_s=run.duration_s,
        services=system.usage(),
        dead_letters=extra.pop("dead_letters"),
        timeline=run.timeline,
    )
    report.update(extra, crashes=run.crashes, store_poll_errors=watch.errors)
    delays = [
        watch.searchable[u] - watch.appeared[u] for u in watch.searchable if u in watch.appeared
    ]
    report["warm_up_s"] = round(warm_up, 1)
    report["freshness_samples_s"] = [round(delay, 2) for delay in delays]
    write_report(report, out)
    print((out / "report.md").read_text())


_listening: dict[str, int] = {}


def _pid_listening(api_url: str) -> int | None:
    """The pid of the process listening on the port of `api_url` (the Prefect server)."""
    if api_url not in _listening:
        port = int(api_url.rsplit(":", 1)[1].split("/")[0])
        for conn in psutil.net_connections("tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port and conn.pid:
                _listening[api_url] = conn.pid
    return _listening.get(api_url)


if __name__ == "__main__":
    main()
