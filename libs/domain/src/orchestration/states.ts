import {
  formatDateTime,
  parseDateTime,
  STATE_TYPES,
  StateCreateDto,
  StateDetails as StateDetailsJson,
  StateType,
} from '@app/contracts';
import { randomUUID } from 'node:crypto';
import type { FlowRunStateRow, StoredRunState } from './stored-run-state';

export type { StateType };

/** Prefect's `TERMINAL_STATES`. */
export const TERMINAL_STATE_TYPES: ReadonlySet<StateType> = new Set<StateType>([
  'COMPLETED',
  'CANCELLED',
  'FAILED',
  'CRASHED',
]);

/** Every state type, plus `null` for "the run has no state yet" (Prefect's `ALL_ORCHESTRATION_STATES`). */
export const ALL_ORCHESTRATION_STATES: ReadonlySet<StateType | null> = new Set<StateType | null>([
  ...STATE_TYPES,
  null,
]);

const DATE_KEYS = ['scheduled_time', 'cache_expiration', 'pause_timeout'] as const;
type DateKey = (typeof DATE_KEYS)[number];

/** `StateDetails` with instants as `Date`s, as the rules read them. */
export type StateDetails = Omit<StateDetailsJson, DateKey> & Record<DateKey, Date | null>;

/** A flow run state during orchestration. */
export interface RunState {
  id: string;
  type: StateType;
  name: string;
  timestamp: Date;
  message: string | null;
  data: unknown;
  state_details: StateDetails;
}

export const isFinal = (state: RunState): boolean => TERMINAL_STATE_TYPES.has(state.type);

/** Prefect's default state name: the type capitalised (`SCHEDULED` → `Scheduled`). */
export function defaultStateName(type: StateType): string {
  return type
    .split('_')
    .map((word) => word.charAt(0) + word.slice(1).toLowerCase())
    .join(' ');
}

export function emptyStateDetails(): StateDetails {
  return {
    flow_run_id: null,
    task_run_id: null,
    child_flow_run_id: null,
    scheduled_time: null,
    cache_key: null,
    cache_expiration: null,
    deferred: false,
    untrackable_result: false,
    pause_timeout: null,
    pause_reschedule: false,
    pause_key: null,
    run_input_keyset: null,
    refresh_cache: null,
    retriable: null,
    transition_id: null,
    task_parameters_id: null,
    traceparent: null,
    deployment_concurrency_lease_id: null,
  };
}

export interface NewStateFields {
  name?: string | null;
  message?: string | null;
  data?: unknown;
  state_details?: Partial<StateDetails>;
}

/**
 * A state as Prefect's `State` model builds one: a fresh id, the type's default name when none is given and,
 * for a SCHEDULED state without a scheduled time, `now`.
 */
export function newState(type: StateType, now: Date, fields: NewStateFields = {}): RunState {
  const stateDetails = { ...emptyStateDetails(), ...fields.state_details };
  if (type === 'SCHEDULED' && !stateDetails.scheduled_time) stateDetails.scheduled_time = now;
  return {
    id: randomUUID(),
    type,
    name: fields.name ?? defaultStateName(type),
    timestamp: now,
    message: fields.message ?? null,
    data: fields.data ?? null,
    state_details: stateDetails,
  };
}

/** The state a client proposed (`StateCreate`), completed as Prefect completes it. */
export function proposedState(proposal: StateCreateDto, now: Date): RunState {
  const details: Partial<StateDetails> = {};
  for (const [key, value] of Object.entries(proposal.state_details ?? {}) as [string, unknown][]) {
    if (value !== undefined) Object.assign(details, { [key]: value });
  }
  return newState(proposal.type, now, { ...proposal, state_details: details });
}

export function stateDetailsToJson(details: StateDetails): StateDetailsJson {
  return {
    ...details,
    scheduled_time: formatDateTime(details.scheduled_time),
    cache_expiration: formatDateTime(details.cache_expiration),
    pause_timeout: formatDateTime(details.pause_timeout),
  };
}

/** Reads stored details; keys a writer left out get Prefect's defaults. */
export function stateDetailsFromJson(json: Partial<StateDetailsJson>): StateDetails {
  const details: StateDetails = { ...emptyStateDetails(), ...(json as Partial<StateDetails>) };
  for (const key of DATE_KEYS) details[key] = parseDateTime(json[key]);
  return details;
}

/** A stored state of a flow run or a task run. */
export function stateFromRow(row: StoredRunState): RunState {
  return {
    id: row.id,
    type: row.type,
    name: row.name,
    timestamp: row.timestamp,
    message: row.message,
    data: row.data ?? null,
    state_details: stateDetailsFromJson(row.state_details),
  };
}

/**
 * Whether state data is kept. Prefect keeps any data but a result marked `{"type": "unpersisted"}`: that one
 * is echoed in the orchestration response and then forgotten.
 */
export function persistedStateData(data: unknown): unknown {
  const unpersisted = typeof data === 'object' && data !== null && (data as { type?: unknown }).type === 'unpersisted';
  return unpersisted ? null : data;
}

/**
 * `state_details` without the keys at Prefect's default, for rows written many at a time: readers put the defaults
 * back ({@link stateDetailsFromJson}, as for the scheduler's rows), and a new run's state row is a third the size.
 */
export function withoutDefaultDetails(details: Partial<StateDetailsJson>): Partial<StateDetailsJson> {
  const defaults: Record<string, unknown> = emptyStateDetails();
  return Object.fromEntries(
    Object.entries(details).filter(([key, value]) => !(key in defaults) || value !== defaults[key]),
  );
}

/** The row that records `state` in a run's history. */
export function stateRow(state: RunState, flowRunId: string): FlowRunStateRow {
  return {
    id: state.id,
    flow_run_id: flowRunId,
    type: state.type,
    name: state.name,
    timestamp: state.timestamp,
    message: state.message,
    data: persistedStateData(state.data),
    state_details: stateDetailsToJson(state.state_details),
  };
}
