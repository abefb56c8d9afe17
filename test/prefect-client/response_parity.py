"""What Prefect's own client reads back where our answers used to differ from Prefect 3.9.1's (issue 12).

Prints one JSON object: the values the test compares. Run with PREFECT_API_URL set.
"""

import asyncio
import json
import uuid

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.states import Scheduled


async def main() -> None:
    suffix = uuid.uuid4().hex[:8]
    out: dict = {}
    async with get_client() as client:
        pool = await client.create_work_pool(WorkPoolCreate(name=f"parity-{suffix}", type="process"))
        queue = await client.create_work_queue(name="described", work_pool_name=pool.name)
        out["queue_description"] = queue.description

        flow_id = await client.create_flow_from_name(f"parity-{suffix}")
        limited = await client.create_deployment(
            flow_id=flow_id, name="limited", work_pool_name=pool.name, concurrency_limit=3
        )
        deployment = await client.read_deployment(limited)
        gcl = deployment.global_concurrency_limit
        out["global_concurrency_limit"] = gcl and {"name": gcl.name, "limit": gcl.limit, "active_slots": gcl.active_slots}

        legacy = await client.create_deployment(flow_id=flow_id, name="legacy", work_queue_name=f"legacy-{suffix}")
        out["legacy_work_pool_name"] = (await client.read_deployment(legacy)).work_pool_name

        run = await client.create_flow_run_from_deployment(limited, state=Scheduled())
        out["created_job_variables"] = run.job_variables
        polled = []
        for _ in range(100):
            polled = await client.get_scheduled_flow_runs_for_work_pool(pool.name)
            if polled:
                break
            await asyncio.sleep(0.1)
        state = polled[0].flow_run.state if polled else None
        out["polled_state"] = state and {"type": state.type.value, "id": str(state.id)}
        out["polled_state_id"] = str(polled[0].flow_run.state_id) if polled else None
    print(json.dumps(out))


asyncio.run(main())
