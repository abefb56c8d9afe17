import type { WorkQueueStatusName } from '@app/contracts';

/** A work queue's stored status: the values Prefect serves, so the column is presented as is. */
export type WorkQueueStatus = WorkQueueStatusName;
