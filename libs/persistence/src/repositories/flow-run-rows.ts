import { FlowRunEntity, FlowRunStateEntity } from '../entities';

/**
 * A `flow_run` row as pg returns it (`SELECT fr.*`), as the entity TypeORM would have made of it. Assigned directly:
 * `Repository.create` walks every column's metadata per row, which made it most of what a poll and a dispatcher pass
 * allocated in the gateway and the scheduler.
 */
export function flowRunFromRow(row: Record<string, unknown>): FlowRunEntity {
  const run = Object.assign(new FlowRunEntity(), row);
  // The one column TypeORM transforms (bigint, which pg returns as a string).
  run.dispatch_seq = row.dispatch_seq === null || row.dispatch_seq === undefined ? null : Number(row.dispatch_seq);
  return run;
}

/** A `flow_run_state` row read as JSON (`to_jsonb(s)`), which renders instants as text: back to Dates. */
export function flowRunStateFromJson(
  row: Record<string, unknown> & { timestamp: string; created: string; updated: string },
): FlowRunStateEntity {
  return Object.assign(new FlowRunStateEntity(), row, {
    timestamp: new Date(row.timestamp),
    created: new Date(row.created),
    updated: new Date(row.updated),
  });
}
