import type { WorkPoolStatusName } from '@app/contracts';

/** A work pool's stored status: the values Prefect serves, so the column is presented as is. */
export type WorkPoolStatus = WorkPoolStatusName;
