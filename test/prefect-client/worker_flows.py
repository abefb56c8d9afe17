"""Flows a stock Prefect process worker runs against the gateway (process-worker.test.ts).

Every execution appends a line to `<marker_dir>/<flow run id>`, so the test can count how many times each run's
flow body ran and in which process. Run as a script, it deploys the flows from the directory it sits in:

    python worker_flows.py <work pool> <marker dir> [--create-pool]  ->  prints {"greet": <id>, "limited": <id>, ...}

With --create-pool it first creates the process pool as `prefect work-pool create <pool> --type process` does (the
process worker's default job template), saving a CLI start where the CLI is not what the test is about.
"""

import json
import os
import sys
import time
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.runtime import flow_run


def _mark(marker_dir: str) -> int:
    """Records one execution of the current run's flow body; returns how many there were so far."""
    marker = Path(marker_dir) / str(flow_run.id)
    with marker.open("a") as handle:
        handle.write(f"{os.getpid()}\n")
    return len(marker.read_text().splitlines())


@task
def double(n: int) -> int:
    return n * 2


@flow
def greet(n: int, marker_dir: str, hold_seconds: float = 0) -> int:
    _mark(marker_dir)
    get_run_logger().info("greeting number %s from the worker flow", n)
    time.sleep(hold_seconds)
    return double(n)


@flow(retries=1, retry_delay_seconds=0)
def flaky(marker_dir: str) -> str:
    attempt = _mark(marker_dir)
    get_run_logger().info("flaky attempt %s", attempt)
    if attempt == 1:
        raise RuntimeError("the first attempt fails")
    return "recovered"


@flow
def parent(marker_dir: str) -> str:
    """Starts a greet run from inside a flow run: Prefect records it under a task run of this one (a subflow)."""
    from prefect.deployments import run_deployment

    child = run_deployment(name="greet/greet", parameters={"n": 100, "marker_dir": marker_dir}, timeout=0)
    get_run_logger().info("started child flow run %s", child.id)
    return str(child.id)


if __name__ == "__main__":
    pool, marker_dir = sys.argv[1], sys.argv[2]
    source = str(Path(__file__).resolve().parent)

    if "--create-pool" in sys.argv[3:]:
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.actions import WorkPoolCreate
        from prefect.workers.process import ProcessWorker

        with get_client(sync_client=True) as client:
            client.create_work_pool(
                WorkPoolCreate(
                    name=pool, type="process", base_job_template=ProcessWorker.get_default_base_job_template()
                )
            )

    def deploy(entrypoint: str, name: str, parameters: dict, **options) -> str:
        sourced = flow.from_source(source=source, entrypoint=f"{Path(__file__).name}:{entrypoint}")
        deployment_id = sourced.deploy(
            name=name,
            work_pool_name=pool,
            parameters=parameters,
            build=False,
            push=False,
            print_next_steps=False,
            **options,
        )
        return str(deployment_id)

    print(
        json.dumps(
            {
                "greet": deploy("greet", "greet", {"n": 0, "marker_dir": marker_dir}),
                "limited": deploy(
                    "greet", "limited", {"n": 0, "marker_dir": marker_dir, "hold_seconds": 2}, concurrency_limit=1
                ),
                "flaky": deploy("flaky", "flaky", {"marker_dir": marker_dir}),
                "parent": deploy("parent", "parent", {"marker_dir": marker_dir}),
            }
        )
    )
