import type { ConcurrencyOptions } from '../deployments/concurrency-options';
import fc from 'fast-check';
import { OrchestrationContext } from './context';
import { DeploymentConcurrencySettings, EnforceDeploymentConcurrencyOnLate } from './deployment-concurrency';
import { EnsureOnlyScheduledFlowsMarkedLate } from './core-policy';
import { orchestrate, OrchestrationOutcome } from './engine';
import { orchestrateFlowRun } from './flow-run-orchestration';
import { GLOBAL_FLOW_POLICY } from './global-policy';
import { InMemoryDeploymentConcurrency } from '../../../../test/support/in-memory-deployment-concurrency';
import { flowRunPolicy, OrchestratedRun } from './orchestrated-run';
import { newState, NewStateFields, RunState, StateType } from './states';

const START = Date.parse('2026-08-21T12:00:00.000Z');
const DEPLOYMENT = 'd5a1e6b2-37c9-4f0e-8a6d-2b9c4e1f7a30';
const NEW_CLIENT = '3.9.1';

/** A deployment's runs orchestrated one transition at a time, on a clock the test moves. */
class Deployment {
  clock = START;
  readonly concurrency = new InMemoryDeploymentConcurrency(() => this.clock);
  private readonly runs = new Map<string, { run: OrchestratedRun; state: RunState | null }>();

  constructor(settings: Partial<DeploymentConcurrencySettings> = {}) {
    this.concurrency.deploy(DEPLOYMENT, settings);
  }

  get now(): Date {
    return new Date(this.clock);
  }

  advance(seconds: number): void {
    this.clock += seconds * 1000;
  }

  /** A run of the deployment in a SCHEDULED state due a minute ago. */
  scheduledRun(name: string, run: Partial<OrchestratedRun> = {}): string {
    const state = newState('SCHEDULED', new Date(this.clock - 60_000), {
      state_details: { scheduled_time: new Date(this.clock - 60_000) },
    });
    this.runs.set(name, {
      state,
      run: {
        id: name,
        deployment_id: DEPLOYMENT,
        parent_task_run_id: null,
        infrastructure_pid: null,
        state_type: 'SCHEDULED',
        state_name: 'Scheduled',
        state_timestamp: state.timestamp,
        run_count: 0,
        start_time: null,
        end_time: null,
        total_run_time: 0,
        expected_start_time: null,
        next_scheduled_start_time: null,
        empirical_policy: flowRunPolicy({}),
        ...run,
      },
    });
    return name;
  }

  stateOf(name: string): RunState | null {
    return this.runs.get(name)!.state;
  }

  propose(
    name: string,
    type: StateType,
    options: { fields?: NewStateFields; force?: boolean; clientVersion?: string | null } = {},
  ) {
    const clientVersion = options.clientVersion === undefined ? NEW_CLIENT : options.clientVersion;
    return this.orchestrate(name, newState(type, this.now, options.fields), clientVersion, (context) =>
      orchestrateFlowRun(context, { force: options.force ?? false }),
    );
  }

  /** Runs `proposed` for the run through `policy` and keeps the outcome as the run's new state. */
  async orchestrate(
    name: string,
    proposed: RunState,
    clientVersion: string | null,
    policy: (context: OrchestrationContext) => Promise<OrchestrationOutcome>,
  ): Promise<OrchestrationOutcome> {
    const current = this.runs.get(name)!;
    const context = new OrchestrationContext({ ...current.run }, current.state, proposed, {
      now: this.now,
      clientVersion,
      apiVersion: null,
      takenStateTimestamps: new Set(),
      startedSinceScheduled: false,
      deploymentConcurrency: this.concurrency,
    });
    const outcome = await policy(context);
    this.runs.set(name, { run: outcome.run, state: outcome.state });
    this.clock += 1; // every state gets its own instant
    return outcome;
  }

  holders(): string[] {
    return this.concurrency.holders(DEPLOYMENT).sort();
  }
}

const LIMIT_REACHED = 'Deployment concurrency limit reached.';
const enqueue = (limit: number, grace?: number): Partial<DeploymentConcurrencySettings> => ({
  concurrency_limit: limit,
  concurrency_options:
    grace === undefined
      ? null
      : ({ collision_strategy: 'ENQUEUE', grace_period_seconds: grace } satisfies ConcurrencyOptions),
});

describe('SecureFlowConcurrencySlots: a claim (→ PENDING) takes a deployment slot', () => {
  it('accepts claims while slots are free, each with its lease in the PENDING state', async () => {
    const deployment = new Deployment(enqueue(2));
    for (const name of ['a', 'b']) {
      const outcome = await deployment.propose(deployment.scheduledRun(name), 'PENDING');
      expect(outcome).toMatchObject({ status: 'ACCEPT', written: true, state: { type: 'PENDING' } });
      expect(outcome.state?.state_details.deployment_concurrency_lease_id).toEqual(expect.any(String));
    }
    expect(deployment.holders()).toEqual(['a', 'b']);
    expect(deployment.stateOf('a')?.state_details.deployment_concurrency_lease_id).not.toBe(
      deployment.stateOf('b')?.state_details.deployment_concurrency_lease_id,
    );
  });

  it('with no slot free, reschedules the claim (ENQUEUE, the default) slot-wait seconds ahead', async () => {
    const deployment = new Deployment({ concurrency_limit: 1 });
    await deployment.propose(deployment.scheduledRun('a'), 'PENDING');
    const now = deployment.now;
    const outcome = await deployment.propose(deployment.scheduledRun('b'), 'PENDING');
    expect(outcome).toMatchObject({
      status: 'REJECT',
      written: true,
      details: { type: 'reject_details', reason: LIMIT_REACHED },
    });
    expect(outcome.state).toMatchObject({ type: 'SCHEDULED', name: 'AwaitingConcurrencySlot', message: null });
    expect(outcome.state?.state_details.scheduled_time).toEqual(new Date(now.getTime() + 30_000));
    expect(outcome.state?.state_details.deployment_concurrency_lease_id).toBeNull();
    expect(outcome.run).toMatchObject({
      state_type: 'SCHEDULED',
      state_name: 'AwaitingConcurrencySlot',
      next_scheduled_start_time: new Date(now.getTime() + 30_000),
    });
    expect(deployment.holders()).toEqual(['a']);
  });

  it('with no slot free under CANCEL_NEW, cancels the run', async () => {
    const deployment = new Deployment({
      concurrency_limit: 1,
      concurrency_options: { collision_strategy: 'CANCEL_NEW' },
    });
    await deployment.propose(deployment.scheduledRun('a'), 'PENDING');
    const outcome = await deployment.propose(deployment.scheduledRun('b'), 'PENDING');
    expect(outcome).toMatchObject({
      status: 'REJECT',
      details: { reason: LIMIT_REACHED },
      state: { type: 'CANCELLED', name: 'Cancelled', message: LIMIT_REACHED },
    });
    expect(outcome.run).toMatchObject({ state_type: 'CANCELLED', end_time: expect.any(Date) });
  });

  it('aborts a claim on a deployment with limit 0, or one that no longer exists', async () => {
    const zero = new Deployment({ concurrency_limit: 0 });
    expect(await zero.propose(zero.scheduledRun('a'), 'PENDING')).toMatchObject({
      status: 'ABORT',
      written: false,
      details: {
        type: 'abort_details',
        reason: 'The deployment concurrency limit is 0. The flow will deadlock if submitted again.',
      },
    });
    const gone = new Deployment(enqueue(1));
    const orphan = gone.scheduledRun('orphan', { deployment_id: '0b1c2d3e-4f50-4617-8a9b-0c1d2e3f4a5b' });
    expect(await gone.propose(orphan, 'PENDING')).toMatchObject({
      status: 'ABORT',
      details: { reason: 'Deployment not found.' },
    });
  });

  it('takes nothing for a deployment without a limit, a run without a deployment, a forced claim or an early Prefect 3 worker', async () => {
    const unlimited = new Deployment();
    expect(
      (await unlimited.propose(unlimited.scheduledRun('a'), 'PENDING')).state?.state_details
        .deployment_concurrency_lease_id,
    ).toBeNull();

    const full = new Deployment(enqueue(1));
    await full.propose(full.scheduledRun('holder'), 'PENDING');
    expect((await full.propose(full.scheduledRun('ad-hoc', { deployment_id: null }), 'PENDING')).status).toBe('ACCEPT');
    expect((await full.propose(full.scheduledRun('forced'), 'PENDING', { force: true })).status).toBe('ACCEPT');
    for (const version of ['3.0.0rc20', '3.0.0', '3.0.3']) {
      expect((await full.propose(full.scheduledRun(version), 'PENDING', { clientVersion: version })).status).toBe(
        'ACCEPT',
      );
    }
    expect((await full.propose(full.scheduledRun('3.0.4'), 'PENDING', { clientVersion: '3.0.4' })).status).toBe(
      'REJECT',
    );
    expect(full.holders()).toEqual(['holder']);
  });

  it('keeps the lease along PENDING sub-states and into RUNNING', async () => {
    const deployment = new Deployment(enqueue(1));
    const claim = await deployment.propose(deployment.scheduledRun('a'), 'PENDING');
    const lease = claim.state?.state_details.deployment_concurrency_lease_id;
    const submitting = await deployment.propose('a', 'PENDING', { fields: { name: 'Submitting' } });
    expect(submitting.state?.state_details.deployment_concurrency_lease_id).toBe(lease);
    const running = await deployment.propose('a', 'RUNNING');
    expect(running).toMatchObject({
      status: 'ACCEPT',
      state: { state_details: { deployment_concurrency_lease_id: lease } },
    });
    expect(deployment.holders()).toEqual(['a']);
  });
});

describe('ReleaseFlowConcurrencySlots: leaving PENDING, RUNNING or CANCELLING frees the slot', () => {
  const SLOT_STATES: StateType[] = ['PENDING', 'RUNNING', 'CANCELLING'];
  const TARGETS: StateType[] = [
    'SCHEDULED',
    'PENDING',
    'RUNNING',
    'COMPLETED',
    'FAILED',
    'CANCELLED',
    'CRASHED',
    'PAUSED',
    'CANCELLING',
  ];

  it('a finished run gives its slot to the next claim', async () => {
    const deployment = new Deployment(enqueue(1));
    await deployment.propose(deployment.scheduledRun('a'), 'PENDING');
    await deployment.propose('a', 'RUNNING');
    expect((await deployment.propose(deployment.scheduledRun('b'), 'PENDING')).status).toBe('REJECT');
    await deployment.propose('a', 'COMPLETED');
    expect(deployment.holders()).toEqual([]);
    expect((await deployment.propose(deployment.scheduledRun('c'), 'PENDING')).status).toBe('ACCEPT');
    expect(deployment.holders()).toEqual(['c']);
  });

  it('releases exactly when a committed state leaves the slot states, forced or not (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...SLOT_STATES),
        fc.constantFrom(...TARGETS),
        fc.boolean(),
        async (from, to, force) => {
          const deployment = new Deployment(enqueue(1));
          await deployment.propose(deployment.scheduledRun('a'), 'PENDING');
          if (from !== 'PENDING') await deployment.propose('a', from, { force: true });
          expect(deployment.holders()).toEqual(['a']);

          const outcome = await deployment.propose('a', to, {
            force,
            fields: { name: to === 'PENDING' ? 'Submitting' : undefined },
          });
          const left = outcome.written && !SLOT_STATES.includes(outcome.state!.type);
          expect(deployment.holders()).toEqual(left ? [] : ['a']);
        },
      ),
    );
  });

  it('keeps the slot of a run retrying in its process, and releases it once the run is done', async () => {
    const deployment = new Deployment(enqueue(1));
    const claim = await deployment.propose(
      deployment.scheduledRun('a', { empirical_policy: flowRunPolicy({ retries: 1 }) }),
      'PENDING',
    );
    await deployment.propose('a', 'RUNNING');
    const retry = await deployment.propose('a', 'FAILED');
    expect(retry.state).toMatchObject({ type: 'SCHEDULED', name: 'AwaitingRetry' });
    expect(retry.state?.state_details.deployment_concurrency_lease_id).toBe(
      claim.state?.state_details.deployment_concurrency_lease_id,
    );
    expect(deployment.holders()).toEqual(['a']);
    expect((await deployment.propose('a', 'RUNNING')).state?.state_details.deployment_concurrency_lease_id).toBe(
      claim.state?.state_details.deployment_concurrency_lease_id,
    );
    expect((await deployment.propose('a', 'FAILED')).state?.type).toBe('FAILED');
    expect(deployment.holders()).toEqual([]);
  });

  it('releases the slot of a run that proposes AwaitingRetry itself (its process is leaving)', async () => {
    const deployment = new Deployment(enqueue(1));
    await deployment.propose(deployment.scheduledRun('a'), 'PENDING');
    await deployment.propose('a', 'RUNNING');
    expect((await deployment.propose('a', 'SCHEDULED', { fields: { name: 'AwaitingRetry' } })).status).toBe('ACCEPT');
    expect(deployment.holders()).toEqual([]);
  });

  it('a cancelled claim releases nothing it did not take', async () => {
    const deployment = new Deployment(enqueue(1));
    await deployment.propose(deployment.scheduledRun('a'), 'PENDING');
    await deployment.propose(deployment.scheduledRun('b'), 'CANCELLED', { force: true });
    expect(deployment.holders()).toEqual(['a']);
  });
});

describe('lease expiry', () => {
  it('frees the slot after the grace period (or the default lease duration) without renewal', async () => {
    for (const [grace, lease] of [
      [90, 90],
      [undefined, 300],
    ] as const) {
      const deployment = new Deployment(enqueue(1, grace));
      await deployment.propose(deployment.scheduledRun('a'), 'PENDING');
      deployment.advance(lease - 1);
      expect((await deployment.propose(deployment.scheduledRun('b'), 'PENDING')).status).toBe('REJECT');
      deployment.advance(1);
      expect((await deployment.propose(deployment.scheduledRun('c'), 'PENDING')).status).toBe('ACCEPT');
      expect(deployment.holders()).toEqual(['c']);
    }
  });
});

describe('ValidateDeploymentConcurrencyAtRunning', () => {
  it('renews a live lease when the run starts', async () => {
    const deployment = new Deployment(enqueue(1, 100));
    await deployment.propose(deployment.scheduledRun('a'), 'PENDING');
    deployment.advance(90);
    expect((await deployment.propose('a', 'RUNNING')).status).toBe('ACCEPT');
    deployment.advance(90);
    expect(deployment.holders()).toEqual(['a']);
    expect((await deployment.propose(deployment.scheduledRun('b'), 'PENDING')).status).toBe('REJECT');
  });

  it('takes a slot again for a run whose lease expired while nobody else wanted it', async () => {
    const deployment = new Deployment(enqueue(1, 60));
    const claim = await deployment.propose(deployment.scheduledRun('a'), 'PENDING');
    deployment.advance(61);
    const running = await deployment.propose('a', 'RUNNING');
    expect(running.status).toBe('ACCEPT');
    const lease = running.state?.state_details.deployment_concurrency_lease_id;
    expect(lease).toEqual(expect.any(String));
    expect(lease).not.toBe(claim.state?.state_details.deployment_concurrency_lease_id);
    expect(deployment.holders()).toEqual(['a']);
  });

  it('cancels a run whose expired slot another run took meanwhile', async () => {
    const deployment = new Deployment(enqueue(1, 60));
    await deployment.propose(deployment.scheduledRun('a'), 'PENDING');
    deployment.advance(61);
    await deployment.propose(deployment.scheduledRun('b'), 'PENDING');
    const running = await deployment.propose('a', 'RUNNING');
    expect(running).toMatchObject({
      status: 'REJECT',
      details: { reason: 'Deployment concurrency limit reached after lease expiry.' },
      state: {
        type: 'CANCELLED',
        message: 'Deployment concurrency slot lost during provisioning - no slots available to continue execution',
      },
    });
    expect(deployment.holders()).toEqual(['b']);
  });

  it('gives back a slot it took again when the run must still wait for its scheduled time', async () => {
    const deployment = new Deployment(enqueue(1, 60));
    await deployment.propose(deployment.scheduledRun('a'), 'PENDING', {
      fields: { state_details: { scheduled_time: new Date(START + 500_000) } },
    });
    deployment.advance(61);
    expect(await deployment.propose('a', 'RUNNING')).toMatchObject({ status: 'WAIT', written: false });
    expect(deployment.holders()).toEqual([]);
  });

  it('leaves clients that cannot renew alone, and keeps their slot until the run finishes', async () => {
    for (const clientVersion of [null, '3.4.10', '3.4.11rc1']) {
      const deployment = new Deployment(enqueue(1, 60));
      await deployment.propose(deployment.scheduledRun('a'), 'PENDING');
      expect((await deployment.propose('a', 'RUNNING', { clientVersion })).status).toBe('ACCEPT');
      deployment.advance(3600);
      expect(deployment.holders()).toEqual(['a']);
      await deployment.propose('a', 'COMPLETED', { clientVersion });
      expect(deployment.holders()).toEqual([]);
    }
  });

  it('lets the lease of a renewing client run out if it stops renewing', async () => {
    const deployment = new Deployment(enqueue(1, 60));
    await deployment.propose(deployment.scheduledRun('a'), 'PENDING');
    await deployment.propose('a', 'RUNNING', { clientVersion: '3.4.11' });
    deployment.advance(61);
    expect(deployment.holders()).toEqual([]);
  });
});

describe('EnforceDeploymentConcurrencyOnLate (MarkLateRunsPolicy)', () => {
  function markLate(deployment: Deployment, name: string) {
    const late = newState('SCHEDULED', deployment.now, {
      name: 'Late',
      state_details: { scheduled_time: deployment.stateOf(name)!.state_details.scheduled_time },
    });
    return deployment.orchestrate(name, late, null, (context) =>
      orchestrate(context, [
        [EnsureOnlyScheduledFlowsMarkedLate, EnforceDeploymentConcurrencyOnLate],
        GLOBAL_FLOW_POLICY,
      ]),
    );
  }

  it('cancels a run going Late while its CANCEL_NEW deployment is full', async () => {
    const deployment = new Deployment({
      concurrency_limit: 1,
      concurrency_options: { collision_strategy: 'CANCEL_NEW' },
    });
    expect((await markLate(deployment, deployment.scheduledRun('early'))).state).toMatchObject({
      type: 'SCHEDULED',
      name: 'Late',
    });
    await deployment.propose(deployment.scheduledRun('holder'), 'PENDING');
    const outcome = await markLate(deployment, deployment.scheduledRun('late'));
    expect(outcome).toMatchObject({
      status: 'REJECT',
      details: { reason: 'Deployment concurrency limit is full and uses the CANCEL_NEW strategy.' },
      state: { type: 'CANCELLED', message: LIMIT_REACHED },
    });
  });

  it('marks the run Late under ENQUEUE, full or not', async () => {
    const deployment = new Deployment(enqueue(1));
    await deployment.propose(deployment.scheduledRun('holder'), 'PENDING');
    expect((await markLate(deployment, deployment.scheduledRun('late'))).state).toMatchObject({
      type: 'SCHEDULED',
      name: 'Late',
    });
  });
});

describe('deployment concurrency over any sequence of claims, starts, finishes and time (property)', () => {
  type Step =
    | { kind: 'claim' | 'start' | 'finish' | 'cancel'; run: number; clientVersion: string | null }
    | { kind: 'advance'; seconds: number };
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({
      kind: fc.constantFrom<'claim' | 'start' | 'finish' | 'cancel'>('claim', 'start', 'finish', 'cancel'),
      run: fc.nat({ max: 7 }),
      clientVersion: fc.constantFrom(null, '3.0.2', '3.4.10', '3.9.1'),
    }),
    fc.record({ kind: fc.constant('advance' as const), seconds: fc.integer({ min: 1, max: 200 }) }),
  );

  it('never lets more runs hold slots than the limit, and admits a claim exactly when a slot is free', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.option(fc.integer({ min: 60, max: 180 }), { nil: undefined }),
        fc.array(step, { maxLength: 40 }),
        async (limit, grace, steps) => {
          const deployment = new Deployment(enqueue(limit, grace));
          const names = Array.from({ length: 8 }, (_, i) => deployment.scheduledRun(`run-${i}`));
          for (const next of steps) {
            if (next.kind === 'advance') {
              deployment.advance(next.seconds);
              continue;
            }
            const name = names[next.run];
            const before = deployment.holders().length;
            const type = deployment.stateOf(name)?.type;
            const target = { claim: 'PENDING', start: 'RUNNING', finish: 'COMPLETED', cancel: 'CANCELLED' }[
              next.kind
            ] as StateType;
            const outcome = await deployment.propose(name, target, {
              clientVersion: next.clientVersion,
              force: next.kind === 'cancel',
            });
            if (next.kind === 'claim' && type === 'SCHEDULED' && next.clientVersion !== '3.0.2') {
              expect(outcome.status).toBe(before < limit ? 'ACCEPT' : 'REJECT');
            }
            expect(deployment.holders().length).toBeLessThanOrEqual(limit);
            const state = deployment.stateOf(name)!;
            if (!['PENDING', 'RUNNING', 'CANCELLING'].includes(state.type)) {
              expect(deployment.holders()).not.toContain(name);
            }
          }
        },
      ),
    );
  });
});
