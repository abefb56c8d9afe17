import { EntityManager } from 'typeorm';
import { FlowRunEntity } from '../entities';
import { flowRunFromRow } from './flow-run-rows';

/** A run still in the state named exactly `Scheduled` whose start time is at or before `$1`. */
const OVERDUE = `state_type = 'SCHEDULED' AND state_name = 'Scheduled' AND next_scheduled_start_time <= $1`;

/** The late-runs service's queries (Prefect's `MarkLateRuns`). */
export class LateRunRepository {
  constructor(private readonly manager: EntityManager) {}

  /** Up to `limit` overdue runs (see {@link OVERDUE}), earliest first. */
  async findOverdue(startedBefore: Date, limit: number): Promise<string[]> {
    const rows: { id: string }[] = await this.manager.query(
      `SELECT id FROM flow_run WHERE ${OVERDUE} ORDER BY next_scheduled_start_time LIMIT $2`,
      [startedBefore, limit],
    );
    return rows.map((row) => row.id);
  }

  /**
   * The run, locked for the rest of the transaction, if it is still overdue; null when it no longer is. A run another
   * transaction holds (being published, claimed, or marked by another replica) is waited for, then checked again.
   */
  async lockIfOverdue(id: string, startedBefore: Date): Promise<FlowRunEntity | null> {
    const rows: Record<string, unknown>[] = await this.manager.query(
      `SELECT * FROM flow_run WHERE id = $2 AND ${OVERDUE} FOR UPDATE`,
      [startedBefore, id],
    );
    return rows.length === 0 ? null : flowRunFromRow(rows[0]);
  }
}
