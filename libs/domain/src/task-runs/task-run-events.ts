import {
  parsePreciseDateTime,
  PrefectEvent,
  STATE_TYPES,
  StateDetails as StateDetailsJson,
  StateType,
} from '@app/contracts';
import { canonicalUuid } from '../events/received-events';
import { defaultStateName, emptyStateDetails, stateDetailsFromJson, stateDetailsToJson } from '../orchestration/states';
import type { TaskRunEventColumns, TaskRunStateEventRow, TaskRunVersion } from './task-run-event-rows';
import { taskRunPolicy } from './task-run-policy';

/** A task-run event whose task run cannot be read from it (Prefect's recorder fails on it and drops it). */
export class UnrecordableTaskRunEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnrecordableTaskRunEventError';
  }
}

/** A task run and its new state, as a client's event reports them. */
export interface TaskRunFromEvent {
  /** The columns to write; the name only when the event carries one. */
  columns: TaskRunEventColumns;
  /** The name of a task run first seen through this event. */
  nameIfNew: string;
  /** The state row; `task_run_id` is settled once the stored task run is known (see {@link stateRowFor}). */
  state: Omit<TaskRunStateEventRow, 'task_run_id'>;
}

/**
 * What recording an event does: insert a task run never seen, update the stored one when the event is newer than
 * its current state, or leave it as it is (an event that arrived late) — the state is added to its history in
 * every case. `taskRunId` is the stored run's id, which may differ from the event's when the two share a key.
 */
export type TaskRunRecording = { write: 'insert' | 'update' | 'state-only'; taskRunId: string };

/**
 * Which events Prefect's task-run recorder takes: task-run events of runs the client orchestrated (Prefect 3's
 * engine for `@task` calls). Task-run events the server emits itself are not about client-side runs.
 */
export function isRecordableTaskRunEvent(event: PrefectEvent): boolean {
  return event.event.startsWith('prefect.task-run') && event.resource['prefect.orchestration'] === 'client';
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function fail(message: string): never {
  throw new UnrecordableTaskRunEventError(message);
}

/** The id in a resource id `<kind>.<uuid>` (Prefect's `Resource.prefect_object_id`). */
function objectId(resourceId: string, kind: string): string {
  if (!resourceId.startsWith(`${kind}.`)) fail(`Resource ID ${resourceId} does not start with ${kind}.`);
  return canonicalUuid(resourceId.slice(kind.length + 1)) ?? fail(`Resource ID ${resourceId} does not end in a UUID`);
}

type FieldReader = (value: unknown, key: string) => unknown;

const nullable =
  (read: FieldReader): FieldReader =>
  (value, key) =>
    value === null ? null : read(value, key);
const text: FieldReader = (value, key) =>
  typeof value === 'string' ? value : fail(`task_run.${key}: Input should be a valid string`);
const instant: FieldReader = (value, key) =>
  parsePreciseDateTime(value) ?? fail(`task_run.${key}: Input should be a valid datetime`);
const count: FieldReader = (value, key) =>
  Number.isInteger(value) ? value : fail(`task_run.${key}: Input should be a valid integer`);
const seconds: FieldReader = (value, key) =>
  typeof value === 'number' && Number.isFinite(value)
    ? value
    : fail(`task_run.${key}: Input should be a valid timedelta`);
const object: FieldReader = (value, key) =>
  isObject(value) ? value : fail(`task_run.${key}: Input should be a valid dictionary`);
const texts: FieldReader = (value, key) =>
  Array.isArray(value) && value.every((tag) => typeof tag === 'string')
    ? value
    : fail(`task_run.${key}: Input should be a valid list of strings`);
const policy: FieldReader = (value, key) => {
  const { max_retries, retry_delay_seconds, retries, retry_delay, retry_jitter_factor } = object(value, key) as Record<
    string,
    never
  >;
  const known = { max_retries, retry_delay_seconds, retries, retry_delay, retry_jitter_factor };
  return taskRunPolicy(Object.fromEntries(Object.entries(known).filter(([, given]) => given !== undefined)));
};

/**
 * The task-run fields of an event's `task_run` payload that are columns, each with how it is read. Prefect writes
 * only the fields the client sent; `labels: null` is stored as no labels.
 */
const TASK_RUN_FIELDS: Record<string, FieldReader> = {
  cache_key: nullable(text),
  cache_expiration: nullable(instant),
  task_version: nullable(text),
  empirical_policy: policy,
  tags: texts,
  labels: (value, key) => (value === null ? {} : object(value, key)),
  task_inputs: object,
  run_count: count,
  flow_run_run_count: count,
  expected_start_time: nullable(instant),
  next_scheduled_start_time: nullable(instant),
  start_time: nullable(instant),
  end_time: nullable(instant),
  total_run_time: seconds,
};

/** The `StateDetails` keys Prefect's model knows; others are dropped. */
function knownStateDetails(value: unknown): Partial<StateDetailsJson> {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) fail('validated_state.state_details: Input should be a valid dictionary');
  const known = Object.keys(emptyStateDetails());
  return Object.fromEntries(Object.entries(value).filter(([key]) => known.includes(key)));
}

/**
 * Prefect's `task_run_from_event` and `db_recordable_task_run_from_event`: the task run is the event's resource
 * (`prefect.task-run.<id>`), its flow run the first related resource in the `flow-run` role, its fields the
 * payload's `task_run`; the new state is the payload's `validated_state`, identified by the event's id and timed
 * by its `occurred`. `now` stands in for a SCHEDULED state's missing scheduled time, as Prefect's `State` does.
 * Throws {@link UnrecordableTaskRunEventError} when the payload does not describe a task run.
 */
export function taskRunFromEvent(event: PrefectEvent, now: Date, generateName: () => string): TaskRunFromEvent {
  const id = objectId(event.resource['prefect.resource.id'], 'prefect.task-run');
  const flowRun = event.related.find((resource) => resource['prefect.resource.role'] === 'flow-run');
  const flowRunId = flowRun ? objectId(flowRun['prefect.resource.id'], 'prefect.flow-run') : null;

  const validated = event.payload.validated_state;
  if (!isObject(validated)) fail('validated_state: Field required');
  if (!STATE_TYPES.includes(validated.type as StateType)) {
    fail(`validated_state.type: Input should be one of ${STATE_TYPES.join(', ')}`);
  }
  const type = validated.type as StateType;
  const name = validated.name == null ? defaultStateName(type) : text(validated.name, 'validated_state.name');
  const message = validated.message == null ? null : text(validated.message, 'validated_state.message');
  const details = stateDetailsFromJson(knownStateDetails(validated.state_details));
  if (type === 'SCHEDULED' && !details.scheduled_time) details.scheduled_time = now;
  details.flow_run_id = flowRunId;
  details.task_run_id = id;

  const payload = event.payload.task_run;
  if (!isObject(payload)) fail('task_run: Field required');
  const taskKey =
    payload.task_key === undefined ? fail('task_run.task_key: Field required') : text(payload.task_key, 'task_key');
  const dynamicKey =
    payload.dynamic_key === undefined
      ? fail('task_run.dynamic_key: Field required')
      : text(payload.dynamic_key, 'dynamic_key');
  const columns: TaskRunEventColumns = {
    id,
    flow_run_id: flowRunId,
    task_key: taskKey as string,
    dynamic_key: dynamicKey as string,
    state_id: event.id,
    state_type: type,
    state_name: name as string,
    state_timestamp: event.occurred,
  };
  // Prefect's `get_or_create_run_name` names a run whose client sent an empty name.
  if (payload.name !== undefined) {
    columns.name =
      payload.name === null || payload.name === '' ? generateName() : (text(payload.name, 'name') as string);
  }
  for (const [key, read] of Object.entries(TASK_RUN_FIELDS)) {
    if (payload[key] !== undefined) Object.assign(columns, { [key]: read(payload[key], key) });
  }

  return {
    columns,
    nameIfNew: columns.name ?? generateName(),
    state: {
      id: event.id,
      type,
      name: name as string,
      timestamp: event.occurred,
      message: message as string | null,
      data: validated.data ?? null,
      state_details: stateDetailsToJson(details),
    },
  };
}

/**
 * Prefect's upsert rules for one event. The stored run is the one with the event's (flow run, task key, dynamic
 * key) when there is one, else the one with its id; no stored run means an insert. A stored run is updated only
 * when its current state is older than the event's (`state_timestamp <` the event's `occurred`), so a late event
 * never overwrites a newer state; a run with no state yet is left as it is, as in Prefect.
 */
export function planTaskRunRecording(incoming: TaskRunEventColumns, stored: TaskRunVersion[]): TaskRunRecording {
  const byKey =
    incoming.flow_run_id === null
      ? undefined
      : stored.find(
          (run) =>
            run.flow_run_id === incoming.flow_run_id &&
            run.task_key === incoming.task_key &&
            run.dynamic_key === incoming.dynamic_key,
        );
  const target = byKey ?? stored.find((run) => run.id === incoming.id);
  if (!target) return { write: 'insert', taskRunId: incoming.id };
  const newer = target.state_timestamp !== null && target.state_timestamp < incoming.state_timestamp;
  return { write: newer ? 'update' : 'state-only', taskRunId: target.id };
}

/** The event's state row, in the history of the stored task run the event turned out to be about. */
export function stateRowFor(recorded: TaskRunFromEvent, taskRunId: string): TaskRunStateEventRow {
  return {
    ...recorded.state,
    task_run_id: taskRunId,
    state_details: { ...recorded.state.state_details, task_run_id: taskRunId },
  };
}
