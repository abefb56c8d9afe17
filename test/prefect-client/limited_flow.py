"""Runs one deployment flow run with Prefect's own engine (PREFECT_API_URL points at our gateway).

The run (its id is the first argument) was claimed already, so its PENDING state holds a deployment concurrency
lease: the engine renews that lease while the flow runs. The flow fails once and is retried in process.
Prints the final state as JSON.
"""

import json
import sys
from uuid import UUID

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.flow_engine import run_flow

attempts = {"count": 0}


@flow(retries=1, retry_delay_seconds=0)
def limited() -> str:
    attempts["count"] += 1
    if attempts["count"] == 1:
        raise ValueError("the first attempt fails")
    return "done"


with get_client(sync_client=True) as client:
    flow_run = client.read_flow_run(UUID(sys.argv[1]))
state = run_flow(limited, flow_run=flow_run, return_type="state")
print(json.dumps({"type": state.type.value, "name": state.name, "attempts": attempts["count"]}))
