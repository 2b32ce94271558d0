"""The clustering and indexing consumers, each batch reported as one Prefect flow run.

A consumer is a long-running service (`newsflow.worker.run_workers`: poll a batch,
handle it, commit, back off and retry on failure, stop cleanly on SIGTERM) that stays in its
consumer group. Its handler runs every batch as one short run of the `cluster-batch` or
`index-batch` flow, so the UI shows progress (runs), throughput (size and rate in each run's
state message) and failures (failed runs with the exception, then the retry's run). A run
ends with its batch, so nothing builds up over the life of the service; offsets are
committed by the loop only after the batch's run completed.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

from prefect import flow, get_run_logger
from prefect.client.schemas.objects import State
from prefect.states import Completed
from pydantic import BaseModel, ConfigDict, Field, SkipValidation

from flows.healthcheck import touch_heartbeat
from newsflow.bus import Message
from newsflow.pipeline import Pipeline
from newsflow.worker import BatchLimits, Handler, StopFlag, run_workers


class BatchJob(BaseModel):
    """One polled batch and what processes it.

    Only `stage`, `size` and `offsets` become the run's parameters in the Prefect API; the
    messages and the live handler stay in this process.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    stage: str
    size: int
    offsets: dict[str, str]
    messages: Annotated[list[Message], SkipValidation] = Field(exclude=True, repr=False)
    handler: Annotated[Handler, SkipValidation] = Field(exclude=True, repr=False)


def offset_ranges(messages: Sequence[Message]) -> dict[str, str]:
    """`{"topic[partition]": "first-last"}` for a batch, as the UI shows it."""
    ranges: dict[str, list[int]] = defaultdict(list)
    for message in messages:
        ranges[f"{message.topic}[{message.partition}]"].append(message.offset)
    return {key: f"{min(offsets)}-{max(offsets)}" for key, offsets in sorted(ranges.items())}


@flow(name="consume-batch")
def consume_batch(job: BatchJob) -> State[int]:
    """Run one batch through its stage; the state message gives its size and rate."""
    started = time.perf_counter()
    job.handler(job.messages)
    seconds = time.perf_counter() - started
    summary = f"{job.size} message(s) in {seconds:.2f}s ({job.size / max(seconds, 1e-6):.0f}/s)"
    get_run_logger().info("%s: %s", job.stage, summary)
    return Completed(message=summary, data=job.size)


def batch_runner(stage: str, handler: Handler) -> Handler:
    """A consumer-loop handler that runs each batch as a `<stage>-batch` flow run."""
    batch_flow = consume_batch.with_options(name=f"{stage}-batch")

    def run(messages: Sequence[Message]) -> None:
        job = BatchJob(
            stage=stage,
            size=len(messages),
            offsets=offset_ranges(messages),
            messages=list(messages),
            handler=handler,
        )
        batch_flow(job)

    return run


def run_stage(
    pipeline: Pipeline,
    stage: str,
    stop: StopFlag,
    *,
    limits: BatchLimits | None = None,
    heartbeat: Path | None = None,
    until_idle: bool = False,
    as_flow_runs: bool = True,
) -> int:
    """Consume `stage`'s topics until `stop` is set (or, with `until_idle`, until a round
    handles nothing new); touch `heartbeat` every round. With `as_flow_runs` every batch is
    a `<stage>-batch` flow run. Returns the messages handled."""
    worker = pipeline.worker(stage, join_group=True)
    if as_flow_runs:
        worker.handler = batch_runner(stage, worker.handler)
    last_seen: list[int | None] = [None]

    def round_done() -> bool:
        if heartbeat is not None:
            touch_heartbeat(heartbeat)
        handled = worker.stats.messages
        idle = handled == last_seen[0] and not worker.retrying
        last_seen[0] = handled
        return until_idle and idle

    run_workers([worker], stop, limits, until=round_done)
    return worker.stats.messages
