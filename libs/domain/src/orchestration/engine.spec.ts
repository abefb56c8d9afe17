import { isApiVersion, OrchestrationContext, versionAtLeast } from './context';
import { orchestrate } from './engine';
import { InMemoryDeploymentConcurrency } from '../../../../test/support/in-memory-deployment-concurrency';
import { flowRunPolicy, OrchestratedRun, runChanges } from './orchestrated-run';
import { bookkeeping, OrchestrationRule, rulesFor } from './rule';
import { newState, RunState, StateType } from './states';

const NOW = new Date('2026-08-21T12:00:00.000Z');
const RUN: OrchestratedRun = {
  id: '6b4b2307-2c0f-4fba-a921-485b4e6fed89',
  deployment_id: null,
  parent_task_run_id: null,
  infrastructure_pid: null,
  state_type: 'SCHEDULED',
  state_name: 'Scheduled',
  state_timestamp: NOW,
  run_count: 0,
  start_time: null,
  end_time: null,
  total_run_time: 0,
  expected_start_time: null,
  next_scheduled_start_time: null,
  empirical_policy: flowRunPolicy({}),
};

const context = (initial: RunState | null, proposed: RunState) =>
  new OrchestrationContext({ ...RUN }, initial, proposed, {
    now: NOW,
    clientVersion: null,
    apiVersion: null,
    takenStateTimestamps: new Set(),
    startedSinceScheduled: false,
    deploymentConcurrency: new InMemoryDeploymentConcurrency(),
  });

/** Rules that log their hooks, so the nesting can be observed. */
function loggingRule(
  name: string,
  log: string[],
  act?: (rule: { reject: (s: RunState | null, r: string) => void; abort: (r: string) => void }) => void,
) {
  return class extends OrchestrationRule {
    static override readonly fromStates = new Set<StateType | null>(['SCHEDULED', null]);
    static override readonly toStates = new Set<StateType | null>(['PENDING', 'CANCELLED']);

    protected override async beforeTransition(): Promise<void> {
      log.push(`${name}:before`);
      act?.({ reject: (s, r) => this.reject(s, r), abort: (r) => this.abort(r) });
    }

    protected override async afterTransition(_initial: RunState | null, validated: RunState | null): Promise<void> {
      log.push(`${name}:after:${validated?.type ?? 'none'}`);
    }

    protected override async cleanup(): Promise<void> {
      log.push(`${name}:cleanup`);
    }
  };
}

describe('orchestration engine', () => {
  const scheduled = () => newState('SCHEDULED', NOW);
  const pending = () => newState('PENDING', NOW);

  it('nests rules: all enter in order, the state is validated, all exit in reverse', async () => {
    const log: string[] = [];
    const outcome = await orchestrate(context(scheduled(), pending()), [
      [loggingRule('a', log), loggingRule('b', log)],
    ]);
    expect(log).toEqual(['a:before', 'b:before', 'b:after:PENDING', 'a:after:PENDING']);
    expect(outcome).toMatchObject({ status: 'ACCEPT', written: true, state: { type: 'PENDING' } });
  });

  it('silences later rules once the transition changed, and fizzles earlier ones into cleanup', async () => {
    const log: string[] = [];
    const rejecting = loggingRule('b', log, (rule) => rule.reject(newState('CANCELLED', NOW), 'no'));
    const outcome = await orchestrate(context(scheduled(), pending()), [
      [loggingRule('a', log), rejecting, loggingRule('c', log)],
    ]);
    // `c` never fires; `b` changed the transition itself and does not fizzle; `a` does.
    expect(log).toEqual(['a:before', 'b:before', 'b:after:CANCELLED', 'a:cleanup']);
    expect(outcome).toMatchObject({
      status: 'REJECT',
      written: true,
      state: { type: 'CANCELLED' },
      details: { reason: 'no' },
    });
  });

  it('keeps the current state when a rule aborts, and skips bookkeeping', async () => {
    const initial = scheduled();
    const adjusted: string[] = [];
    const outcome = await orchestrate(context(initial, pending()), [
      [loggingRule('a', [], (rule) => rule.abort('stop'))],
      [bookkeeping((proposed) => adjusted.push(proposed.type))],
    ]);
    expect(outcome).toMatchObject({
      status: 'ABORT',
      written: false,
      details: { type: 'abort_details', reason: 'stop' },
    });
    expect(outcome.state).toBe(initial);
    expect(adjusted).toEqual([]);
  });

  it('runs bookkeeping without waiting: every transform has adjusted the state before the first await', async () => {
    const adjusted: number[] = [];
    const transforms = [1, 2, 3].map((n) => bookkeeping(() => adjusted.push(n)));
    const outcome = orchestrate(context(null, pending()), [transforms]);
    expect(adjusted).toEqual([1, 2, 3]);
    await expect(outcome).resolves.toMatchObject({ written: true });
  });

  it('refuses to reject into "no change" a run that has no state', async () => {
    const rejecting = loggingRule('a', [], (rule) => rule.reject(null, 'no'));
    await expect(orchestrate(context(null, pending()), [[rejecting]])).rejects.toThrow(
      'cannot be rejected without providing a new state',
    );
  });

  it('compiles only the rules that govern the transition', () => {
    const rule = loggingRule('a', []);
    expect(rulesFor([rule], 'SCHEDULED', 'PENDING')).toEqual([rule]);
    expect(rulesFor([rule], 'RUNNING', 'PENDING')).toEqual([]);
    expect(rulesFor([rule], null, 'RUNNING')).toEqual([]);
  });
});

describe('run changes', () => {
  it('lists only the fields that changed, comparing instants and policies by value', () => {
    const after: OrchestratedRun = {
      ...RUN,
      state_timestamp: new Date(NOW.getTime()),
      empirical_policy: flowRunPolicy({}),
      run_count: 1,
    };
    expect(runChanges(RUN, after)).toEqual({ run_count: 1 });
  });
});

describe('API versions', () => {
  it('accepts x.y.z API versions and compares them numerically', () => {
    expect(isApiVersion('0.8.4')).toBe(true);
    expect(isApiVersion('0.8')).toBe(false);
    expect(isApiVersion('a.b.c')).toBe(false);
    expect(versionAtLeast('0.10.0', '0.8.4')).toBe(true);
    expect(versionAtLeast('0.8.3', '0.8.4')).toBe(false);
    expect(versionAtLeast('0.8.4', '0.8.4')).toBe(true);
  });
});
