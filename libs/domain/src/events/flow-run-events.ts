import { formatDateTime, PrefectEvent } from '@app/contracts';
import type { Actor } from '../actor';
import type { RunState } from '../orchestration/states';

/** Prefect's `TRUNCATE_STATE_MESSAGES_AT`: state messages can carry whole tracebacks or results. */
const TRUNCATE_STATE_MESSAGES_AT = 100_000;
/** Prefect's `PREFECT_EVENTS_MAXIMUM_RELATED_RESOURCES` default. */
const MAXIMUM_RELATED_RESOURCES = 500;
/** Prefect links a state change to the previous one only when the two are this close. */
const TIGHT_TIMING_MS = 5 * 60_000;

interface Tagged {
  id: string;
  name: string;
  tags: string[];
}

/** The run whose state changed, after the change, and what it belongs to. */
export interface FlowRunEventSubject {
  run: Tagged & { run_count: number; created_by: Actor | null };
  flow: Tagged | null;
  deployment: Tagged | null;
  workQueue: { id: string; name: string } | null;
  workPool: { id: string; name: string; type: string } | null;
}

/** Prefect's `truncated_to`: the middle of an overlong text gives way to a count of what was left out. */
export function truncatedTo(length: number, value: string | null): string {
  if (!value) return '';
  const characters = Array.from(value);
  if (characters.length <= length) return value;
  const half = Math.floor(length / 2);
  const omitted = characters.length - 2 * half;
  const proposed = `${characters.slice(0, half).join('')}...${omitted} additional characters...${characters.slice(-half).join('')}`;
  return Array.from(proposed).length < characters.length ? proposed : value;
}

/** Python's `datetime.isoformat()` of a UTC instant: microseconds only when there are any, `+00:00` offset. */
function pythonIsoFormat(instant: Date): string {
  const [seconds, millis] = instant.toISOString().replace(/Z$/, '').split('.');
  return `${seconds}${millis === '000' ? '' : `.${millis}000`}+00:00`;
}

/** Prefect's `state_payload`: the essential string parts of a state. */
function statePayload(state: RunState | null): Record<string, string> | null {
  if (!state) return null;
  const payload: Record<string, string> = { type: state.type };
  if (state.name) payload.name = state.name;
  if (state.message) payload.message = truncatedTo(TRUNCATE_STATE_MESSAGES_AT, state.message);
  if (state.type === 'PAUSED') payload.pause_reschedule = String(state.state_details.pause_reschedule);
  return payload;
}

/**
 * The related resources of a flow-run event, in Prefect's order: flow, deployment, work queue, work pool; then
 * every tag of the run, its flow and its deployment (sorted, as many as the limit leaves room for); then the
 * run's creator when that was a deployment or an automation.
 */
function relatedResources(subject: FlowRunEventSubject): Record<string, string>[] {
  const related: Record<string, string>[] = [];
  const add = (kind: string, resource: { id: string; name: string }, extra: Record<string, string> = {}) =>
    related.push({
      'prefect.resource.id': `prefect.${kind}.${resource.id}`,
      'prefect.resource.role': kind,
      'prefect.resource.name': resource.name,
      ...extra,
    });
  if (subject.flow) add('flow', subject.flow);
  if (subject.deployment) add('deployment', subject.deployment);
  if (subject.workQueue) add('work-queue', subject.workQueue);
  if (subject.workPool) add('work-pool', subject.workPool, { 'prefect.work-pool.type': subject.workPool.type });

  const tags = new Set([...subject.run.tags, ...(subject.flow?.tags ?? []), ...(subject.deployment?.tags ?? [])]);
  // One place is kept free for the creator.
  const room = Math.max(0, MAXIMUM_RELATED_RESOURCES - related.length - 1);
  for (const tag of [...tags].sort().slice(0, room)) {
    related.push({ 'prefect.resource.id': `prefect.tag.${tag}`, 'prefect.resource.role': 'tag' });
  }

  const creator = subject.run.created_by;
  const creatorKind =
    creator?.type === 'DEPLOYMENT' ? 'deployment' : creator?.type === 'AUTOMATION' ? 'automation' : null;
  if (creator && creatorKind) {
    related.push({
      'prefect.resource.id': `prefect.${creatorKind}.${creator.id}`,
      'prefect.resource.role': 'creator',
      ...(creator.display_value && { 'prefect.resource.name': creator.display_value }),
    });
  }
  return related;
}

/**
 * `prefect.flow-run.<state name>`, as Prefect's `InstrumentFlowRunStateTransitions` emits it for every state a run
 * takes. Its id is the new state's, so consumers can order a run's events, and it follows the previous state's
 * event when the two came close together.
 */
export function flowRunStateEvent(
  subject: FlowRunEventSubject,
  initial: RunState | null,
  validated: RunState,
): PrefectEvent {
  const { run } = subject;
  const tight =
    initial !== null && Math.abs(validated.timestamp.getTime() - initial.timestamp.getTime()) < TIGHT_TIMING_MS;
  return {
    id: validated.id,
    occurred: formatDateTime(validated.timestamp) as string,
    event: `prefect.flow-run.${validated.name}`,
    resource: {
      'prefect.resource.id': `prefect.flow-run.${run.id}`,
      'prefect.resource.name': run.name,
      'prefect.run-count': String(run.run_count),
      'prefect.state-message': truncatedTo(TRUNCATE_STATE_MESSAGES_AT, validated.message),
      'prefect.state-name': validated.name,
      'prefect.state-timestamp': pythonIsoFormat(validated.timestamp),
      'prefect.state-type': validated.type,
    },
    related: relatedResources(subject),
    payload: {
      intended: { from: initial?.type ?? null, to: validated.type },
      initial_state: statePayload(initial),
      validated_state: statePayload(validated),
    },
    follows: tight ? initial.id : null,
  };
}
