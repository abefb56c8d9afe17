import type { SetStateStatus, StateResponseDetails } from '@app/contracts';
import type { DeploymentConcurrency } from './deployment-concurrency';
import type { OrchestratedRun } from './orchestrated-run';
import type { RunState, StateType } from './states';

/** What a transition knows of the world beyond the run: the clock and who is asking. */
export interface TransitionEnvironment {
  readonly now: Date;
  /** The Prefect client version from the `User-Agent` header, if a Prefect client sent it. */
  readonly clientVersion: string | null;
  /** The `X-PREFECT-API-VERSION` header (`x.y.z`), if sent. */
  readonly apiVersion: string | null;
  /** Timestamps (epoch milliseconds) the run's states already hold: a new state must not reuse one. */
  readonly takenStateTimestamps: ReadonlySet<number>;
  /**
   * Whether the run was started (PENDING or RUNNING) after it was last SCHEDULED (see {@link startedSinceScheduled});
   * a run that finished after a start may not be claimed again. Always false for task runs.
   */
  readonly startedSinceScheduled: boolean;
  /** The deployments' concurrency limits and the slots their runs hold, as of the transaction that orchestrates. */
  readonly deploymentConcurrency: DeploymentConcurrency;
}

/**
 * One proposed transition of one run, as the rules see and shape it (Prefect's `FlowOrchestrationContext`).
 * Rules change `proposedState` (or drop it) and the run's bookkeeping fields; nothing here touches storage.
 */
export class OrchestrationContext {
  status: SetStateStatus = 'ACCEPT';
  details: StateResponseDetails = { type: 'accept_details' };
  /** Set once the rules have run: the new state, or the current one when nothing is written. */
  validatedState: RunState | null = null;

  constructor(
    readonly run: OrchestratedRun,
    readonly initialState: RunState | null,
    public proposedState: RunState | null,
    readonly environment: TransitionEnvironment,
  ) {}

  get initialStateType(): StateType | null {
    return this.initialState?.type ?? null;
  }

  get proposedStateType(): StateType | null {
    return this.proposedState?.type ?? null;
  }
}

/** One entry of a run's history, as far as starts go. */
export interface StateMark {
  type: StateType;
  timestamp: Date;
}

/**
 * Whether the run's history holds a start (a PENDING or RUNNING state) newer than its last SCHEDULED one: a run
 * put back on schedule (a manual retry, a resumed suspension, a reschedule) may be started again; one that
 * finished after its start may not.
 */
export function startedSinceScheduled(history: readonly StateMark[]): boolean {
  const newest = (types: StateType[]) =>
    Math.max(-Infinity, ...history.filter((mark) => types.includes(mark.type)).map((mark) => mark.timestamp.getTime()));
  return newest(['PENDING', 'RUNNING']) > newest(['SCHEDULED']);
}

/** `version >= minimum` for `x.y.z` versions. */
export function versionAtLeast(version: string, minimum: string): boolean {
  const parts = version.split('.').map(Number);
  const least = minimum.split('.').map(Number);
  for (let i = 0; i < least.length; i++) {
    const difference = (parts[i] ?? 0) - (least[i] ?? 0);
    if (difference !== 0) return difference > 0;
  }
  return true;
}

/**
 * Prefect gates pause/resume bookkeeping on the API version: clients that send none, or 0.8.4 and later,
 * get the current behaviour.
 */
export function speaksCurrentApi(environment: TransitionEnvironment): boolean {
  return environment.apiVersion === null || versionAtLeast(environment.apiVersion, '0.8.4');
}

const API_VERSION = /^\s*[+-]?\d+\s*\.\s*[+-]?\d+\s*\.\s*[+-]?\d+\s*$/;

/** Whether an `X-PREFECT-API-VERSION` header has Prefect's `x.y.z` integer form. */
export function isApiVersion(header: string): boolean {
  return API_VERSION.test(header);
}
