import type { WorkerStatusName } from '@app/contracts';

/** Heartbeats set ONLINE, the foreman sets OFFLINE; Prefect serves the column as is. */
export type WorkerStatus = WorkerStatusName;
