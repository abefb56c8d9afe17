import type { OrchestrationContext } from './context';
import { ALL_ORCHESTRATION_STATES, RunState, StateType } from './states';

/**
 * One governed step around a transition: entered before the new state is validated, exited after. A step with
 * nothing to wait for (bookkeeping) returns nothing, and is not awaited: awaiting each of a dozen transforms, twice,
 * made most of what creating a run allocated.
 */
export interface Transition {
  enter(): Promise<void> | void;
  exit(): Promise<void> | void;
}

/** A rule or transform class, as a policy lists it: it says which transitions it governs. */
export interface TransitionRule {
  new (context: OrchestrationContext, fromStateType: StateType | null, toStateType: StateType | null): Transition;
  readonly fromStates: ReadonlySet<StateType | null>;
  readonly toStates: ReadonlySet<StateType | null>;
}

/** Rules in priority order. */
export type Policy = readonly TransitionRule[];

/** The rules of `policy` that govern `from → to` (Prefect's `compile_transition_rules`). */
export function rulesFor(policy: Policy, from: StateType | null, to: StateType | null): TransitionRule[] {
  return policy.filter((rule) => rule.fromStates.has(from) && rule.toStates.has(to));
}

/**
 * A discrete piece of orchestration logic (Prefect's `BaseOrchestrationRule`). It fires only while the
 * transition is still the one it was created for: once an earlier rule rejected into another state type, or
 * aborted, later rules stay silent. A rule whose transition changed under it after it fired "fizzles" and
 * gets `cleanup` instead of `afterTransition`, to undo its side effects.
 */
export abstract class OrchestrationRule implements Transition {
  static readonly fromStates: ReadonlySet<StateType | null> = new Set();
  static readonly toStates: ReadonlySet<StateType | null> = new Set();
  private invalidOnEntry: boolean | null = null;

  constructor(
    protected readonly context: OrchestrationContext,
    private readonly fromStateType: StateType | null,
    private toStateType: StateType | null,
  ) {}

  // The hook's own promise, not one more around it (see `Transition`).
  enter(): Promise<void> | void {
    if (this.invalid()) return;
    return this.beforeTransition(this.context.initialState, this.context.proposedState);
  }

  exit(): Promise<void> | void {
    if (this.invalid()) return;
    if (this.transitionChanged()) return this.cleanup(this.context.initialState, this.context.validatedState);
    return this.afterTransition(this.context.initialState, this.context.validatedState);
  }

  protected async beforeTransition(_initial: RunState | null, _proposed: RunState | null): Promise<void> {}

  protected async afterTransition(_initial: RunState | null, _validated: RunState | null): Promise<void> {}

  protected async cleanup(_initial: RunState | null, _validated: RunState | null): Promise<void> {}

  /** Replaces the proposed state; `null` keeps the run in its current state. */
  protected reject(state: RunState | null, reason: string): void {
    if (state === null && this.fromStateType === null) {
      throw new Error(
        'The current run has no state; this transition cannot be rejected without providing a new state.',
      );
    }
    this.toStateType = state?.type ?? null;
    this.context.proposedState = state;
    this.context.status = 'REJECT';
    this.context.details = { type: 'reject_details', reason };
  }

  /** Writes nothing and tells the client to propose again after `delaySeconds`. */
  protected delay(delaySeconds: number, reason: string): void {
    this.toStateType = null;
    this.context.proposedState = null;
    this.context.status = 'WAIT';
    this.context.details = { type: 'wait_details', delay_seconds: delaySeconds, reason };
  }

  /** Writes nothing and tells the client to give the run up. */
  protected abort(reason: string): void {
    this.toStateType = null;
    this.context.proposedState = null;
    this.context.status = 'ABORT';
    this.context.details = { type: 'abort_details', reason };
  }

  private ruleClass(): TransitionRule {
    return this.constructor as TransitionRule;
  }

  private invalid(): boolean {
    const { fromStates, toStates } = this.ruleClass();
    if (!fromStates.has(this.fromStateType) || !toStates.has(this.toStateType)) this.invalidOnEntry = true;
    this.invalidOnEntry ??= this.transitionChanged();
    return this.invalidOnEntry;
  }

  private transitionChanged(): boolean {
    return this.fromStateType !== this.context.initialStateType || this.toStateType !== this.context.proposedStateType;
  }
}

/**
 * Bookkeeping that fires on every transition that still writes a state (Prefect's `BaseUniversalTransform`);
 * it never fizzles.
 */
export abstract class UniversalTransform implements Transition {
  static readonly fromStates: ReadonlySet<StateType | null> = ALL_ORCHESTRATION_STATES;
  static readonly toStates: ReadonlySet<StateType | null> = ALL_ORCHESTRATION_STATES;

  constructor(
    protected readonly context: OrchestrationContext,
    _fromStateType: StateType | null,
    _toStateType: StateType | null,
  ) {}

  enter(): Promise<void> | void {
    if (this.context.proposedState) return this.beforeTransition(this.context.proposedState);
  }

  exit(): Promise<void> | void {
    const { proposedState, validatedState } = this.context;
    if (proposedState && validatedState) return this.afterTransition(validatedState);
  }

  protected async beforeTransition(_proposed: RunState): Promise<void> {}

  protected async afterTransition(_validated: RunState): Promise<void> {}
}

/** A transform that only adjusts the proposed state or the run before validation. */
export function bookkeeping(adjust: (proposed: RunState, context: OrchestrationContext) => void): TransitionRule {
  // Synchronous, as `adjust` is (see `Transition`).
  return class implements Transition {
    static readonly fromStates = ALL_ORCHESTRATION_STATES;
    static readonly toStates = ALL_ORCHESTRATION_STATES;

    constructor(private readonly context: OrchestrationContext) {}

    enter(): void {
      if (this.context.proposedState) adjust(this.context.proposedState, this.context);
    }

    exit(): void {}
  };
}
