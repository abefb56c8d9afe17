"""Drives our gateway with Prefect's own Python client (PREFECT_API_URL points at it).

Runs the calls a Prefect worker and a deploying user make, one named step at a time, and writes a JSON
summary to the path given as the first argument: for each step either `{"ok": true, "value": ...}`,
`{"ok": false, "error": ..., "traceback": ...}` or `{"ok": false, "skipped": ...}` when a step it needs
failed. Every step runs even when an earlier, unrelated one failed, so one run reports every incompatibility.
"""

import asyncio
import json
import sys
import tempfile
import traceback
from pathlib import Path
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable

from prefect.client.orchestration import get_client
from prefect import Flow, flow
from prefect.client.schemas.actions import (
    DeploymentScheduleCreate,
    DeploymentUpdate,
    WorkPoolCreate,
    WorkPoolUpdate,
)
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterState,
    FlowRunFilterStateType,
    WorkPoolFilter,
    WorkPoolFilterName,
    WorkQueueFilter,
    WorkQueueFilterName,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule
from prefect.client.schemas.sorting import FlowRunSort
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
from prefect.states import Completed, Pending, Running
from prefect.workers.process import ProcessWorker

FLOW = "pc-flow"
POOL = "pc-pool"
QUEUE = "pc-queue"
DEPLOYMENT = "pc-deployment"
WORKER = "pc-worker"
POLL_ATTEMPTS = 20
POLL_INTERVAL_SECONDS = 0.25
FLOW_SOURCE = """
from prefect import flow


@flow(name="pc-sourced-flow")
def etl(n: int = 1) -> int:
    return n
"""


@flow(name="pc-direct-flow")
def direct_flow(n: int = 1) -> int:
    return n


results: dict[str, dict[str, Any]] = {}
ctx: dict[str, Any] = {}


def describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    response = getattr(exc, "response", None)
    if response is not None:
        request = response.request
        text += (
            f"\nrequest: {request.method} {request.url} {request.content.decode(errors='replace')[:2000]}"
            f"\nresponse: {response.status_code} {response.text[:2000]}"
        )
    return text


async def step(
    client: Any, name: str, needs: list[str], body: Callable[[], Awaitable[Any]]
) -> None:
    # Tags each request, so the recording proxy can show the exchanges behind a failed step.
    client._client.headers["x-test-step"] = name
    missing = [need for need in needs if not results.get(need, {}).get("ok")]
    if missing:
        results[name] = {"ok": False, "skipped": f"needs {', '.join(missing)}"}
        return
    try:
        results[name] = {"ok": True, "value": await body()}
    except Exception as exc:  # every failure is data for the report, not a reason to stop
        results[name] = {
            "ok": False,
            "error": describe(exc),
            "traceback": traceback.format_exc()[-6000:],
        }


async def main(summary_path: str) -> None:
    async with get_client() as client:

        async def server() -> Any:
            unhealthy = await client.api_healthcheck()
            if unhealthy is not None:
                raise unhealthy
            return {"api_version": await client.api_version()}

        async def flow() -> Any:
            ctx["flow_id"] = await client.create_flow_from_name(FLOW)
            by_id = await client.read_flow(ctx["flow_id"])
            by_name = await client.read_flow_by_name(FLOW)
            return {"name": by_id.name, "same_by_name": by_name.id == by_id.id}

        async def work_pool_create() -> Any:
            pool = await client.create_work_pool(
                WorkPoolCreate(
                    name=POOL,
                    type="process",
                    description="created by the real-client test",
                    base_job_template=ProcessWorker.get_default_base_job_template(),
                )
            )
            ctx["pool"] = pool
            return {
                "name": pool.name,
                "type": pool.type,
                "status": pool.status.value if pool.status else None,
                "has_default_queue": pool.default_queue_id is not None,
                "template_keys": sorted(pool.base_job_template.keys()),
            }

        async def work_pool_duplicate() -> Any:
            try:
                await client.create_work_pool(WorkPoolCreate(name=POOL, type="process"))
            except ObjectAlreadyExists:
                return {"raised": "ObjectAlreadyExists"}
            return {"raised": None}

        async def work_pool_read() -> Any:
            pool = await client.read_work_pool(POOL)
            filtered = await client.read_work_pools(
                work_pool_filter=WorkPoolFilter(name=WorkPoolFilterName(any_=[POOL]))
            )
            try:
                await client.read_work_pool("no-such-pool")
                missing = None
            except ObjectNotFound:
                missing = "ObjectNotFound"
            return {
                "name": pool.name,
                "filtered_names": [p.name for p in filtered],
                "missing_raises": missing,
            }

        async def work_pool_update() -> Any:
            await client.update_work_pool(
                POOL, WorkPoolUpdate(description="updated", concurrency_limit=5)
            )
            pool = await client.read_work_pool(POOL)
            return {"description": pool.description, "concurrency_limit": pool.concurrency_limit}

        async def work_queue_create() -> Any:
            queue = await client.create_work_queue(
                name=QUEUE,
                work_pool_name=POOL,
                description="pc queue",
                priority=2,
                concurrency_limit=3,
            )
            ctx["queue"] = queue
            return {
                "name": queue.name,
                "priority": queue.priority,
                "concurrency_limit": queue.concurrency_limit,
                "work_pool_name": queue.work_pool_name,
                "in_pool": queue.work_pool_id == ctx["pool"].id,
            }

        async def work_queue_read() -> Any:
            by_name = await client.read_work_queue_by_name(QUEUE, work_pool_name=POOL)
            all_queues = await client.read_work_queues(work_pool_name=POOL)
            filtered = await client.read_work_queues(
                work_pool_name=POOL,
                work_queue_filter=WorkQueueFilter(name=WorkQueueFilterName(any_=[QUEUE])),
            )
            return {
                "same_by_name": by_name.id == ctx["queue"].id,
                "names": sorted(q.name for q in all_queues),
                "filtered_names": [q.name for q in filtered],
            }

        async def deployment_create() -> Any:
            ctx["deployment_id"] = await client.create_deployment(
                flow_id=ctx["flow_id"],
                name=DEPLOYMENT,
                work_pool_name=POOL,
                work_queue_name=QUEUE,
                schedules=[
                    DeploymentScheduleCreate(
                        schedule=IntervalSchedule(interval=timedelta(hours=1)), active=True
                    )
                ],
                parameters={"x": 1},
                tags=["pc"],
                entrypoint="flows.py:etl",
                job_variables={"env": {"A": "1"}},
            )
            return {"created": True}

        async def deployment_read() -> Any:
            deployment_id = ctx["deployment_id"]
            deployment = await client.read_deployment(deployment_id)
            by_name = await client.read_deployment_by_name(f"{FLOW}/{DEPLOYMENT}")
            by_id = await client.read_deployments(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
            )
            by_pool = await client.read_deployments(
                work_pool_filter=WorkPoolFilter(name=WorkPoolFilterName(any_=[POOL]))
            )
            schedules = await client.read_deployment_schedules(deployment_id)
            return {
                "name": deployment.name,
                "work_pool_name": deployment.work_pool_name,
                "work_queue_name": deployment.work_queue_name,
                "parameters": deployment.parameters,
                "tags": deployment.tags,
                "same_by_name": by_name.id == deployment_id,
                "filtered_by_id": [str(d.id) == str(deployment_id) for d in by_id],
                "filtered_by_pool": [d.name for d in by_pool],
                "schedule_intervals": [
                    s.schedule.interval.total_seconds()
                    for s in schedules
                    if isinstance(s.schedule, IntervalSchedule)
                ],
            }

        async def deployment_pause_resume() -> Any:
            await client.pause_deployment(ctx["deployment_id"])
            paused = (await client.read_deployment(ctx["deployment_id"])).paused
            await client.resume_deployment(ctx["deployment_id"])
            resumed = (await client.read_deployment(ctx["deployment_id"])).paused
            return {"paused_after_pause": paused, "paused_after_resume": resumed}

        async def flow_run_create() -> Any:
            run = await client.create_flow_run_from_deployment(
                ctx["deployment_id"], parameters={"x": 2}, tags=["run"]
            )
            ctx["run"] = run
            return {
                "state_type": run.state.type.value if run.state else None,
                "deployment_matches": run.deployment_id == ctx["deployment_id"],
                "work_queue_name": run.work_queue_name,
                "work_pool_name": run.work_pool_name,
                "parameters": run.parameters,
                "tags": sorted(run.tags),
            }

        async def flow_run_read() -> Any:
            run_id = ctx["run"].id
            run = await client.read_flow_run(run_id)
            by_id = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id]))
            )
            scheduled = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(
                        type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])
                    )
                )
            )
            by_deployment = await client.read_flow_runs(
                deployment_filter=DeploymentFilter(
                    id=DeploymentFilterId(any_=[ctx["deployment_id"]])
                )
            )
            by_pool = await client.read_flow_runs(
                work_pool_filter=WorkPoolFilter(name=WorkPoolFilterName(any_=[POOL]))
            )
            count = await client.count_flow_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id]))
            )
            return {
                "same_id": run.id == run_id,
                "found_by_id": [r.id == run_id for r in by_id],
                "found_as_scheduled": any(r.id == run_id for r in scheduled),
                "found_by_deployment": any(r.id == run_id for r in by_deployment),
                "found_by_pool": any(r.id == run_id for r in by_pool),
                "count": count,
            }

        async def poll_until(run_id: Any, **options: Any) -> list[Any]:
            # A stock worker polls again on its next tick; a run just made due may need a moment to be dispatched.
            for _ in range(POLL_ATTEMPTS):
                responses = await client.get_scheduled_flow_runs_for_work_pool(POOL, **options)
                if any(r.flow_run.id == run_id for r in responses):
                    return responses
                await asyncio.sleep(POLL_INTERVAL_SECONDS)
            return []

        async def worker_poll() -> Any:
            run_id = ctx["run"].id
            window = dict(
                work_queue_names=[QUEUE],
                scheduled_before=datetime.now(timezone.utc) + timedelta(seconds=10),
            )
            responses = await poll_until(run_id, **window)
            # Handed to this poller, the run is held for it until claimed: a second poll does not get it.
            again = await client.get_scheduled_flow_runs_for_work_pool(POOL, **window)
            return {
                "contains_run": any(r.flow_run.id == run_id for r in responses),
                "pool_matches": all(r.work_pool_id == ctx["pool"].id for r in responses),
                "queue_matches": all(r.work_queue_id == ctx["queue"].id for r in responses),
                "second_poll_contains_run": any(r.flow_run.id == run_id for r in again),
            }

        async def worker_poll_all_queues() -> Any:
            run = await client.create_flow_run_from_deployment(ctx["deployment_id"])
            responses = await poll_until(run.id)
            return {"contains_run": any(r.flow_run.id == run.id for r in responses)}

        async def claim() -> Any:
            run_id = ctx["run"].id
            first = await client.set_flow_run_state(run_id, Pending())
            second = await client.set_flow_run_state(run_id, Pending())
            current = await client.read_flow_run(run_id)
            return {
                "first": first.status.value,
                "first_state_type": first.state.type.value if first.state else None,
                "second": second.status.value,
                "second_reason": second.details.reason if hasattr(second.details, "reason") else None,
                "current_state_type": current.state.type.value if current.state else None,
            }

        async def heartbeat() -> Any:
            await client.send_worker_heartbeat(POOL, WORKER, heartbeat_interval_seconds=30)
            await client.send_worker_heartbeat(POOL, WORKER, heartbeat_interval_seconds=30)
            workers = await client.read_workers_for_work_pool(POOL)
            pool = await client.read_work_pool(POOL)
            return {
                "workers": [{"name": w.name, "status": w.status.value} for w in workers],
                "pool_status": pool.status.value if pool.status else None,
            }

        async def flows_filter() -> Any:
            flows = await client.read_flows(
                flow_filter=FlowFilter(name=FlowFilterName(any_=[FLOW]))
            )
            return {"names": [f.name for f in flows]}

        async def deployment_update() -> Any:
            await client.update_deployment(
                ctx["deployment_id"],
                DeploymentUpdate(description="updated", parameters={"x": 5}),
            )
            deployment = await client.read_deployment(ctx["deployment_id"])
            return {"description": deployment.description, "parameters": deployment.parameters}

        async def deployment_schedules() -> Any:
            deployment_id = ctx["deployment_id"]
            created = await client.create_deployment_schedules(
                deployment_id, [(CronSchedule(cron="0 6 * * *", timezone="UTC"), True)]
            )
            await client.update_deployment_schedule(deployment_id, created[0].id, active=False)
            after_update = await client.read_deployment_schedules(deployment_id)
            await client.delete_deployment_schedule(deployment_id, created[0].id)
            after_delete = await client.read_deployment_schedules(deployment_id)
            return {
                "created_cron": [c.schedule.cron for c in created if isinstance(c.schedule, CronSchedule)],
                "active_after_update": sorted(s.active for s in after_update),
                "count_after_delete": len(after_delete),
            }

        async def flow_deploy() -> Any:
            # The user's path: `flow.from_source(...).deploy(...)` onto a process pool, no image.
            source = Path(tempfile.mkdtemp(prefix="pc-source-"))
            (source / "flows.py").write_text(FLOW_SOURCE)
            sourced = await Flow.afrom_source(source=str(source), entrypoint="flows.py:etl")
            deployment_id = await sourced.adeploy(
                name="pc-sourced-deployment",
                work_pool_name=POOL,
                interval=600,
                parameters={"n": 3},
                tags=["sourced"],
                build=False,
                push=False,
                print_next_steps=False,
            )
            deployment = await client.read_deployment(deployment_id)
            return {
                "name": deployment.name,
                "work_pool_name": deployment.work_pool_name,
                "work_queue_name": deployment.work_queue_name,
                "entrypoint": deployment.entrypoint,
                "parameters": deployment.parameters,
                "has_parameter_schema": bool(deployment.parameter_openapi_schema),
                "has_pull_steps": bool(deployment.pull_steps),
                "schedule_count": len(deployment.schedules),
            }

        async def flow_run_direct() -> Any:
            run = await client.create_flow_run(
                flow=direct_flow, name="pc-direct-run", parameters={"n": 1}, tags=["direct"]
            )
            await client.update_flow_run(run.id, name="pc-direct-renamed")
            await client.update_flow_run_labels(run.id, {"team": "data"})
            read = await client.read_flow_run(run.id)
            return {
                "state_type": run.state.type.value if run.state else None,
                "name": read.name,
                "team_label": read.labels.get("team"),
                "tags": read.tags,
            }

        async def flow_runs_sorted() -> Any:
            runs = await client.read_flow_runs(
                sort=FlowRunSort.EXPECTED_START_TIME_ASC, limit=2, offset=0
            )
            return {"count": len(runs)}

        async def run_to_completion() -> Any:
            run_id = ctx["run"].id
            running = await client.set_flow_run_state(run_id, Running())
            completed = await client.set_flow_run_state(run_id, Completed())
            current = await client.read_flow_run(run_id)
            return {
                "running": running.status.value,
                "completed": completed.status.value,
                "current_state_type": current.state.type.value if current.state else None,
            }

        async def work_pool_delete() -> Any:
            await client.create_work_pool(WorkPoolCreate(name="pc-doomed", type="process"))
            await client.delete_work_pool("pc-doomed")
            try:
                await client.read_work_pool("pc-doomed")
                return {"gone": False}
            except ObjectNotFound:
                return {"gone": True}

        async def deletes() -> Any:
            run_id = ctx["run"].id
            await client.delete_flow_run(run_id)
            try:
                await client.read_flow_run(run_id)
                run_gone = False
            except ObjectNotFound:
                run_gone = True
            await client.delete_deployment(ctx["deployment_id"])
            try:
                await client.read_deployment(ctx["deployment_id"])
                deployment_gone = False
            except ObjectNotFound:
                deployment_gone = True
            return {"run_gone": run_gone, "deployment_gone": deployment_gone}

        await step(client, "server", [], server)
        await step(client, "flow", [], flow)
        await step(client, "flows_filter", ["flow"], flows_filter)
        await step(client, "work_pool_create", [], work_pool_create)
        await step(client, "work_pool_duplicate", ["work_pool_create"], work_pool_duplicate)
        await step(client, "work_pool_read", ["work_pool_create"], work_pool_read)
        await step(client, "work_pool_update", ["work_pool_create"], work_pool_update)
        await step(client, "work_queue_create", ["work_pool_create"], work_queue_create)
        await step(client, "work_queue_read", ["work_queue_create"], work_queue_read)
        await step(client, "deployment_create", ["flow", "work_queue_create"], deployment_create)
        await step(client, "deployment_read", ["deployment_create"], deployment_read)
        await step(client, "deployment_pause_resume", ["deployment_create"], deployment_pause_resume)
        await step(client, "deployment_update", ["deployment_create"], deployment_update)
        await step(client, "deployment_schedules", ["deployment_create"], deployment_schedules)
        await step(client, "flow_deploy", ["work_pool_create"], flow_deploy)
        await step(client, "flow_run_create", ["deployment_create"], flow_run_create)
        await step(client, "flow_run_read", ["flow_run_create"], flow_run_read)
        await step(client, "flow_run_direct", [], flow_run_direct)
        await step(client, "flow_runs_sorted", ["flow_run_create"], flow_runs_sorted)
        await step(client, "worker_poll", ["flow_run_create"], worker_poll)
        await step(client, "worker_poll_all_queues", ["flow_run_create"], worker_poll_all_queues)
        await step(client, "claim", ["flow_run_create"], claim)
        await step(client, "run_to_completion", ["claim"], run_to_completion)
        await step(client, "heartbeat", ["work_pool_create"], heartbeat)
        await step(client, "work_pool_delete", [], work_pool_delete)
        await step(client, "deletes", ["flow_run_create"], deletes)

    with open(summary_path, "w") as summary:
        json.dump(results, summary, indent=2, default=str)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
