import { STATE_TYPES, StateType } from '@app/contracts';
import fc from 'fast-check';
import { OrchestrationContext, startedSinceScheduled } from './context';
import { delaySeconds } from './core-policy';
import { orchestrateFlowRun } from './flow-run-orchestration';
import { InMemoryDeploymentConcurrency } from '../../../../test/support/in-memory-deployment-concurrency';
import { flowRunPolicy, OrchestratedRun } from './orchestrated-run';
import { newState, NewStateFields, RunState } from './states';

const NOW = new Date('2026-08-21T12:00:00.000Z');
const at = (offsetSeconds: number) => new Date(NOW.getTime() + offsetSeconds * 1000);
const RUN_ID = '6b4b2307-2c0f-4fba-a921-485b4e6fed89';
/** A deployment without a concurrency limit. */
const DEPLOYMENT_ID = 'd5a1e6b2-37c9-4f0e-8a6d-2b9c4e1f7a30';

function flowRun(overrides: Partial<OrchestratedRun> = {}): OrchestratedRun {
  return {
    id: RUN_ID,
    deployment_id: null,
    parent_task_run_id: null,
    infrastructure_pid: null,
    state_type: null,
    state_name: null,
    state_timestamp: null,
    run_count: 0,
    start_time: null,
    end_time: null,
    total_run_time: 0,
    expected_start_time: null,
    next_scheduled_start_time: null,
    empirical_policy: flowRunPolicy({}),
    ...overrides,
  };
}

/** A state the run was in a minute ago (unless `timestamp` says otherwise). */
function state(type: StateType, fields: NewStateFields & { timestamp?: Date } = {}): RunState {
  return newState(type, fields.timestamp ?? at(-60), fields);
}

interface Proposal {
  run?: Partial<OrchestratedRun>;
  force?: boolean;
  apiVersion?: string | null;
  taken?: number[];
  now?: Date;
  startedSinceScheduled?: boolean;
}

function unlimitedDeployment(): InMemoryDeploymentConcurrency {
  const concurrency = new InMemoryDeploymentConcurrency(() => NOW.getTime());
  concurrency.deploy(DEPLOYMENT_ID);
  return concurrency;
}

function propose(initial: RunState | null, proposed: RunState, options: Proposal = {}) {
  const run = flowRun({
    state_type: initial?.type ?? null,
    state_name: initial?.name ?? null,
    state_timestamp: initial?.timestamp ?? null,
    ...options.run,
  });
  const context = new OrchestrationContext(run, initial, proposed, {
    now: options.now ?? NOW,
    clientVersion: null,
    apiVersion: options.apiVersion ?? null,
    takenStateTimestamps: new Set(options.taken ?? (initial ? [initial.timestamp.getTime()] : [])),
    startedSinceScheduled: options.startedSinceScheduled ?? false,
    deploymentConcurrency: unlimitedDeployment(),
  });
  return orchestrateFlowRun(context, { force: options.force ?? false });
}

const proposedNow = (type: StateType, fields: NewStateFields = {}) => newState(type, NOW, fields);
const stateNames = fc.oneof(
  fc.constantFrom('Pending', 'Submitting', 'InfrastructurePending', 'Running', ''),
  fc.string({ maxLength: 12 }),
);

describe('claiming a run: PreventPendingTransitions', () => {
  it('lets exactly the first PENDING proposal through; every later one is aborted', async () => {
    const scheduled = state('SCHEDULED', { state_details: { scheduled_time: at(-5) } });
    const first = await propose(scheduled, proposedNow('PENDING'));
    expect(first).toMatchObject({ status: 'ACCEPT', written: true, details: { type: 'accept_details' } });

    const second = await propose(first.state, proposedNow('PENDING'), { taken: [first.state!.timestamp.getTime()] });
    expect(second).toMatchObject({
      status: 'ABORT',
      written: false,
      details: {
        type: 'abort_details',
        reason: 'This run is in a PENDING state and cannot transition to a PENDING state.',
      },
    });
    expect(second.state).toBe(first.state);
  });

  it('decides every (state type, name) → PENDING (name) proposal as Prefect does', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...STATE_TYPES, null),
        stateNames,
        stateNames,
        fc.boolean(),
        fc.boolean(),
        async (initialType, initialName, proposedName, scheduledProposal, started) => {
          const initial =
            initialType && state(initialType, { name: initialName, state_details: { scheduled_time: at(-30) } });
          const proposal = proposedNow('PENDING', {
            name: proposedName,
            state_details: { scheduled_time: scheduledProposal ? at(99) : null },
          });
          const outcome = await propose(initial, proposal, {
            run: { deployment_id: DEPLOYMENT_ID },
            startedSinceScheduled: started,
          });

          const renamedPending =
            initialType === 'PENDING' && initialName !== proposedName && proposedName !== 'Pending';
          if (started && ['COMPLETED', 'FAILED', 'CRASHED'].includes(initialType ?? '')) {
            // The fence: not in Prefect, which lets a run that finished start again.
            expect(outcome).toMatchObject({
              status: 'ABORT',
              written: false,
              details: {
                type: 'abort_details',
                reason: `This run has already been started and is in a ${initialType} state; it cannot transition to a PENDING state.`,
              },
            });
          } else if (initialType === 'CANCELLING' || initialType === 'PAUSED') {
            expect(outcome).toMatchObject({ status: 'REJECT', written: false });
          } else if (['PENDING', 'RUNNING', 'CANCELLED'].includes(initialType ?? '') && !renamedPending) {
            expect(outcome.status).toBe('ABORT');
            expect(outcome.details).toEqual({
              type: 'abort_details',
              reason: `This run is in a ${initialType} state and cannot transition to a PENDING state.`,
            });
            expect(outcome.written).toBe(false);
          } else {
            expect(outcome).toMatchObject({ status: 'ACCEPT', written: true });
            expect(outcome.state?.name).toBe(proposedName);
          }
          if (renamedPending) {
            // The sub-state keeps the claim's scheduled time and lease, whatever it proposed.
            expect(outcome.state?.state_details.scheduled_time).toEqual(at(-30));
          }
        },
      ),
    );
  });

  it('carries the deployment concurrency lease along PENDING sub-states', async () => {
    const lease = '0c2e4a6b-8d1f-4e3a-9b5c-7d9e1f3a5b7c';
    const pending = state('PENDING', { state_details: { deployment_concurrency_lease_id: lease } });
    const outcome = await propose(pending, proposedNow('PENDING', { name: 'Submitting' }));
    expect(outcome.state?.state_details.deployment_concurrency_lease_id).toBe(lease);
  });

  it('a forced PENDING goes through whatever the run is in', async () => {
    for (const type of ['PENDING', 'RUNNING', 'CANCELLED'] as const) {
      const outcome = await propose(state(type), proposedNow('PENDING'), { force: true });
      expect(outcome).toMatchObject({ status: 'ACCEPT', written: true });
    }
  });
});

describe('PreventRestartingFinishedRuns: the claim fence', () => {
  const transitionId = '5c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f';

  it('aborts a late claim of a run that finished after its start, even one whose result Prefect would keep', async () => {
    for (const finished of [
      state('COMPLETED'),
      state('FAILED'),
      state('CRASHED'),
      state('COMPLETED', { data: { type: 'reference', storage_key: 'k' } }),
    ]) {
      const outcome = await propose(finished, proposedNow('PENDING'), {
        startedSinceScheduled: true,
        run: { deployment_id: DEPLOYMENT_ID },
      });
      expect(outcome).toMatchObject({ status: 'ABORT', written: false, details: { type: 'abort_details' } });
      expect(outcome.state).toBe(finished);
    }
  });

  it('lets a run that finished without a start be claimed, as Prefect does', async () => {
    expect((await propose(state('FAILED'), proposedNow('PENDING'), { startedSinceScheduled: false })).status).toBe(
      'ACCEPT',
    );
  });

  it('still answers the winner that resends its claim as a duplicate: the current PENDING state, rejected', async () => {
    const pending = state('PENDING', { state_details: { transition_id: transitionId } });
    const resent = await propose(pending, proposedNow('PENDING', { state_details: { transition_id: transitionId } }), {
      startedSinceScheduled: true,
    });
    expect(resent).toMatchObject({
      status: 'REJECT',
      written: false,
      details: { reason: 'This run has already made this state transition.' },
    });
    expect(resent.state).toBe(pending);
    const other = await propose(
      pending,
      proposedNow('PENDING', { state_details: { transition_id: '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d' } }),
      { startedSinceScheduled: true },
    );
    expect(other.status).toBe('ABORT');
  });

  it('only a forced PENDING passes, as every forced transition does', async () => {
    expect(
      (await propose(state('COMPLETED'), proposedNow('PENDING'), { startedSinceScheduled: true, force: true })).status,
    ).toBe('ACCEPT');
  });
});

describe('startedSinceScheduled', () => {
  const types = fc.constantFrom(...STATE_TYPES);

  it('is whether a PENDING or RUNNING state comes after the last SCHEDULED one, in whatever order the history is read (property)', () => {
    fc.assert(
      fc.property(fc.array(types, { maxLength: 12 }), fc.integer(), (sequence, seed) => {
        const history = sequence.map((type, i) => ({ type, timestamp: at(i) }));
        const shuffled = [...history].sort(
          (a, b) => ((a.timestamp.getTime() * 31 + seed) % 97) - ((b.timestamp.getTime() * 31 + seed) % 97),
        );
        const lastStart = Math.max(sequence.lastIndexOf('PENDING'), sequence.lastIndexOf('RUNNING'));
        expect(startedSinceScheduled(shuffled)).toBe(lastStart > sequence.lastIndexOf('SCHEDULED'));
      }),
    );
  });

  it.each([
    ['a claimed, run and completed run', ['SCHEDULED', 'PENDING', 'RUNNING', 'COMPLETED'], true],
    ['a manual retry through AwaitingRetry', ['SCHEDULED', 'PENDING', 'RUNNING', 'FAILED', 'SCHEDULED'], false],
    ['a resumed suspended run', ['SCHEDULED', 'PENDING', 'RUNNING', 'PAUSED', 'SCHEDULED'], false],
    ['a local flow() call', ['PENDING', 'RUNNING', 'COMPLETED'], true],
    ['a new run', [], false],
  ] as const)('%s', (_case, sequence, expected) => {
    expect(startedSinceScheduled(sequence.map((type, i) => ({ type, timestamp: at(i) })))).toBe(expected);
  });
});

describe('PreventDuplicateTransitions', () => {
  const transitionId = '3f6b1a2c-9e4d-4c7b-8a5f-1d2e3f4a5b6c';

  it('answers a retried proposal (same transition_id) with the current state', async () => {
    const current = state('PENDING', { state_details: { transition_id: transitionId } });
    const outcome = await propose(current, proposedNow('RUNNING', { state_details: { transition_id: transitionId } }));
    expect(outcome).toMatchObject({
      status: 'REJECT',
      written: false,
      details: { type: 'reject_details', reason: 'This run has already made this state transition.' },
    });
    expect(outcome.state).toBe(current);
  });

  it('lets a new transition_id, or none, through', async () => {
    const current = state('PENDING', { state_details: { transition_id: transitionId } });
    expect(
      (
        await propose(
          current,
          proposedNow('RUNNING', { state_details: { transition_id: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d' } }),
        )
      ).status,
    ).toBe('ACCEPT');
    expect((await propose(current, proposedNow('RUNNING'))).status).toBe('ACCEPT');
  });
});

describe('CopyScheduledTime and WaitForScheduledTime', () => {
  it('a PENDING state inherits the scheduled time unless it brings its own', async () => {
    const scheduled = state('SCHEDULED', { state_details: { scheduled_time: at(-10) } });
    expect((await propose(scheduled, proposedNow('PENDING'))).state?.state_details.scheduled_time).toEqual(at(-10));
    const own = proposedNow('PENDING', { state_details: { scheduled_time: at(-3) } });
    expect((await propose(scheduled, own)).state?.state_details.scheduled_time).toEqual(at(-3));
  });

  it('tells a run that would start early to wait, by whole seconds rounded half down', async () => {
    const cases: [number, number][] = [
      [2.6, 3],
      [2.5, 2],
      [2.4, 2],
      [0.501, 1],
      [0.5, 0],
      [-0.4, 0],
      [-3, -3],
    ];
    for (const [offset, expected] of cases) expect(delaySeconds(at(offset), NOW)).toBe(expected);

    const pending = state('PENDING', { state_details: { scheduled_time: at(7.8) } });
    const outcome = await propose(pending, proposedNow('RUNNING'));
    expect(outcome).toMatchObject({
      status: 'WAIT',
      written: false,
      details: { type: 'wait_details', delay_seconds: 8, reason: 'Scheduled time is in the future' },
    });
    expect(outcome.state).toBe(pending);
  });

  it('waits exactly when the rounded delay is positive (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: -100_000, max: 100_000 }),
        fc.constantFrom('SCHEDULED', 'PENDING') as fc.Arbitrary<StateType>,
        async (ms, type) => {
          const scheduledTime = new Date(NOW.getTime() + ms);
          const delay = delaySeconds(scheduledTime, NOW);
          expect(delay).toBe(Math.ceil(ms / 1000 - 0.5) + 0); // + 0 turns -0 into 0
          const outcome = await propose(
            state(type, { state_details: { scheduled_time: scheduledTime } }),
            proposedNow('RUNNING'),
          );
          if (delay > 0) {
            expect(outcome.details).toEqual({
              type: 'wait_details',
              delay_seconds: delay,
              reason: 'Scheduled time is in the future',
            });
          } else expect(outcome.status).toBe('ACCEPT');
        },
      ),
    );
  });
});

describe('HandleFlowTerminalStateTransitions', () => {
  const result = { type: 'reference', storage_key: 'abc' };

  it.each(['CANCELLING', 'PAUSED', 'CRASHED'] as const)('aborts COMPLETED → %s', async (type) => {
    const outcome = await propose(state('COMPLETED'), proposedNow(type));
    expect(outcome).toMatchObject({
      status: 'ABORT',
      details: { reason: 'Run is already in terminal state COMPLETED.' },
    });
  });

  it('keeps a COMPLETED run that holds a persisted result', async () => {
    const completed = state('COMPLETED', { data: result });
    expect(await propose(completed, proposedNow('RUNNING'))).toMatchObject({
      status: 'REJECT',
      written: false,
      details: { reason: 'Run is already COMPLETED.' },
    });
    expect(await propose(completed, proposedNow('COMPLETED'))).toMatchObject({
      status: 'REJECT',
      details: {
        reason: 'Cannot overwrite a COMPLETED state that carries persisted result data with one that does not.',
      },
    });
    // Forced, only the data-loss guard remains.
    expect((await propose(completed, proposedNow('RUNNING'), { force: true })).status).toBe('ACCEPT');
    expect((await propose(completed, proposedNow('COMPLETED'), { force: true })).status).toBe('REJECT');
    expect((await propose(completed, proposedNow('COMPLETED', { data: result }), { force: true })).status).toBe(
      'ACCEPT',
    );
  });

  it('lets a run without a persisted result be retried, resetting its pause bookkeeping', async () => {
    const paused = flowRunPolicy({ pause_keys: ['a'], resuming: true, retry_type: 'in_process' });
    const outcome = await propose(state('FAILED'), proposedNow('RUNNING'), {
      run: { empirical_policy: paused, end_time: at(-60) },
    });
    expect(outcome.status).toBe('ACCEPT');
    expect(outcome.run.empirical_policy).toMatchObject({ pause_keys: [], resuming: false, retry_type: null });
    expect(outcome.run.end_time).toBeNull();

    const oldApi = await propose(state('FAILED'), proposedNow('RUNNING'), {
      run: { empirical_policy: paused },
      apiVersion: '0.8.3',
    });
    expect(oldApi.run.empirical_policy).toEqual(paused);
  });

  it('reschedules only runs of a deployment', async () => {
    expect(await propose(state('FAILED'), proposedNow('SCHEDULED'))).toMatchObject({
      status: 'ABORT',
      details: { reason: 'Cannot reschedule a run without an associated deployment.' },
    });
    const outcome = await propose(state('FAILED'), proposedNow('SCHEDULED'), { run: { deployment_id: DEPLOYMENT_ID } });
    expect(outcome.status).toBe('ACCEPT');
    expect(outcome.run.empirical_policy.retry_type).toBe('reschedule');
  });

  it('restores the pause bookkeeping when a later rule stops the transition', async () => {
    const policy = flowRunPolicy({ pause_keys: ['a'], resuming: true });
    const outcome = await propose(state('CANCELLED'), proposedNow('PENDING'), { run: { empirical_policy: policy } });
    expect(outcome.status).toBe('ABORT');
    expect(outcome.run.empirical_policy).toEqual(policy);
  });
});

describe('cancellation and lateness rules', () => {
  it('a CANCELLING run may only become CANCELLED', async () => {
    expect(await propose(state('CANCELLING'), proposedNow('COMPLETED'))).toMatchObject({
      status: 'REJECT',
      details: { reason: 'Cannot transition flows that are cancelling to a state other than Cancelled.' },
    });
    expect((await propose(state('CANCELLING'), proposedNow('CANCELLED'))).status).toBe('ACCEPT');
  });

  it('cancels a run without infrastructure at once, forced or not', async () => {
    for (const force of [false, true]) {
      const outcome = await propose(state('SCHEDULED'), proposedNow('CANCELLING'), { force });
      expect(outcome).toMatchObject({
        status: 'REJECT',
        written: true,
        details: { reason: 'Scheduled flow run has no infrastructure to terminate.' },
      });
      expect(outcome.state).toMatchObject({ type: 'CANCELLED', name: 'Cancelled' });
      expect(outcome.run).toMatchObject({ state_type: 'CANCELLED', next_scheduled_start_time: null, end_time: NOW });
    }
    const suspended = state('PAUSED', { state_details: { pause_reschedule: true } });
    expect((await propose(suspended, proposedNow('CANCELLING'))).details).toEqual({
      type: 'reject_details',
      reason: 'Suspended flow run has no infrastructure to terminate.',
    });
    const withInfra = await propose(state('SCHEDULED'), proposedNow('CANCELLING'), {
      run: { infrastructure_pid: '4242' },
    });
    expect(withInfra).toMatchObject({ status: 'ACCEPT', state: { type: 'CANCELLING' } });
  });

  it('only a SCHEDULED run that is not late yet can be marked Late', async () => {
    const late = () => proposedNow('SCHEDULED', { name: 'Late' });
    expect((await propose(state('SCHEDULED'), late())).status).toBe('ACCEPT');
    expect((await propose(state('RUNNING'), late())).details).toEqual({
      type: 'reject_details',
      reason: 'Only scheduled flows can be marked late.',
    });
    expect((await propose(state('SCHEDULED', { name: 'Late' }), late())).details).toEqual({
      type: 'reject_details',
      reason: 'This flow run is already marked late.',
    });
  });
});

describe('global bookkeeping', () => {
  it('records a first SCHEDULED state: expected and next start are its scheduled time', async () => {
    const outcome = await propose(null, proposedNow('SCHEDULED', { state_details: { scheduled_time: at(300) } }), {
      force: true,
    });
    expect(outcome.run).toMatchObject({
      state_type: 'SCHEDULED',
      state_name: 'Scheduled',
      state_timestamp: NOW,
      expected_start_time: at(300),
      next_scheduled_start_time: at(300),
      run_count: 0,
    });
    expect(outcome.state?.state_details.flow_run_id).toBe(RUN_ID);
  });

  it('follows a run through PENDING, RUNNING and COMPLETED', async () => {
    const scheduled = state('SCHEDULED', { timestamp: at(-100), state_details: { scheduled_time: at(-90) } });
    const base = { expected_start_time: at(-90), next_scheduled_start_time: at(-90) };
    const pending = await propose(scheduled, newState('PENDING', at(-80)), { run: base, now: at(-80) });
    expect(pending.run).toMatchObject({
      state_type: 'PENDING',
      next_scheduled_start_time: null,
      expected_start_time: at(-90),
      start_time: null,
    });

    const running = await propose(pending.state, newState('RUNNING', at(-70)), { run: pending.run, now: at(-70) });
    expect(running.run).toMatchObject({ state_type: 'RUNNING', start_time: at(-70), run_count: 1, total_run_time: 0 });

    const completed = await propose(running.state, newState('COMPLETED', at(-40)), { run: running.run, now: at(-40) });
    expect(completed.run).toMatchObject({
      state_type: 'COMPLETED',
      start_time: at(-70),
      end_time: at(-40),
      total_run_time: 30,
      run_count: 1,
    });
  });

  it('gives a run that fails before running a start as well as an end', async () => {
    const outcome = await propose(state('PENDING'), proposedNow('FAILED'));
    expect(outcome.run).toMatchObject({ start_time: NOW, end_time: NOW });
  });

  it('counts every entry into RUNNING except a resume', async () => {
    const rerun = await propose(state('PENDING'), proposedNow('RUNNING'), {
      run: { run_count: 1, start_time: at(-500) },
    });
    expect(rerun.run).toMatchObject({ run_count: 2, start_time: at(-500) });

    // A suspended run comes back through a SCHEDULED state named Resuming.
    const resuming = flowRunPolicy({ resuming: true });
    const resumed = await propose(state('SCHEDULED', { name: 'Resuming' }), proposedNow('RUNNING'), {
      run: { run_count: 1, empirical_policy: resuming },
    });
    expect(resumed.run.run_count).toBe(1);
    expect(resumed.run.empirical_policy.resuming).toBe(false);

    const oldApi = await propose(state('SCHEDULED', { name: 'Resuming' }), proposedNow('RUNNING'), {
      run: { run_count: 1, empirical_policy: resuming },
      apiVersion: '0.8.3',
    });
    expect(oldApi.run.run_count).toBe(2);
    expect(oldApi.run.empirical_policy.resuming).toBe(true);
  });

  it('points the states of a subflow at its parent task run', async () => {
    const parent = '7e6d5c4b-3a29-4187-9f6e-5d4c3b2a1908';
    const outcome = await propose(state('PENDING'), proposedNow('RUNNING'), { run: { parent_task_run_id: parent } });
    expect(outcome.state?.state_details.task_run_id).toBe(parent);
  });

  it('leaves the run untouched when nothing is written', async () => {
    const pending = state('PENDING');
    const run = { expected_start_time: at(-60), run_count: 1 };
    const outcome = await propose(pending, proposedNow('PENDING'), { run });
    expect(outcome.run).toEqual(
      flowRun({ state_type: 'PENDING', state_name: 'Pending', state_timestamp: pending.timestamp, ...run }),
    );
  });

  it('never gives two states of a run the same timestamp, moving to the next free instant (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: -20, max: 20 }), { maxLength: 30 }), async (offsetsMs) => {
        const taken = offsetsMs.map((ms) => NOW.getTime() + ms);
        const outcome = await propose(null, proposedNow('PENDING'), { taken, force: true });
        const stamp = outcome.state!.timestamp.getTime();
        expect(taken).not.toContain(stamp);
        expect(stamp).toBeGreaterThanOrEqual(NOW.getTime());
        for (let between = NOW.getTime(); between < stamp; between++) expect(taken).toContain(between);
        expect(outcome.run.state_timestamp?.getTime()).toBe(stamp);
      }),
    );
  });
});

describe('RetryFailedFlows', () => {
  const failing = () =>
    proposedNow('FAILED', {
      message: 'Flow run encountered an exception: ValueError',
      data: { type: 'reference', storage_key: 'k' },
    });

  it('reschedules a failing run in place (AwaitingRetry, in_process) while run_count <= retries (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.option(fc.integer({ min: 0, max: 5 }), { nil: null }),
        fc.option(fc.integer({ min: 0, max: 600 }), { nil: null }),
        async (runCount, retries, retryDelay) => {
          const policy = flowRunPolicy({
            retries,
            retry_delay: retryDelay,
            pause_keys: ['p'],
            resuming: true,
            retry_type: 'reschedule',
          });
          const outcome = await propose(state('RUNNING'), failing(), {
            run: { run_count: runCount, empirical_policy: policy },
          });
          if (retries !== null && runCount <= retries) {
            expect(outcome).toMatchObject({
              status: 'REJECT',
              written: true,
              details: { type: 'reject_details', reason: 'Retrying' },
            });
            expect(outcome.state).toMatchObject({
              type: 'SCHEDULED',
              name: 'AwaitingRetry',
              message: 'Flow run encountered an exception: ValueError',
              data: { type: 'reference', storage_key: 'k' },
            });
            expect(outcome.state?.state_details.scheduled_time).toEqual(at(retryDelay ?? 0));
            expect(outcome.run.empirical_policy).toMatchObject({
              retry_type: 'in_process',
              pause_keys: [],
              resuming: false,
            });
            expect(outcome.run).toMatchObject({
              state_type: 'SCHEDULED',
              next_scheduled_start_time: at(retryDelay ?? 0),
              end_time: null,
            });
          } else {
            expect(outcome).toMatchObject({ status: 'ACCEPT', state: { type: 'FAILED' } });
            expect(outcome.run.empirical_policy).toMatchObject({ retry_type: null, pause_keys: ['p'] });
          }
        },
      ),
    );
  });

  it('reads the deprecated max_retries / retry_delay_seconds too', async () => {
    const policy = flowRunPolicy({ max_retries: 2, retry_delay_seconds: 7 });
    const outcome = await propose(state('RUNNING'), failing(), { run: { run_count: 2, empirical_policy: policy } });
    expect(outcome.state).toMatchObject({ name: 'AwaitingRetry', state_details: { scheduled_time: at(7) } });
  });

  it('leaves the pause bookkeeping and retry type of clients older than API 0.8.4 alone', async () => {
    const policy = flowRunPolicy({ retries: 1, pause_keys: ['p'] });
    const outcome = await propose(state('RUNNING'), failing(), {
      run: { run_count: 1, empirical_policy: policy },
      apiVersion: '0.8.3',
    });
    expect(outcome.state?.name).toBe('AwaitingRetry');
    expect(outcome.run.empirical_policy).toEqual(policy);
  });

  it('only governs RUNNING → FAILED, and not a forced FAILED', async () => {
    const policy = flowRunPolicy({ retries: 3 });
    expect(
      (await propose(state('PENDING'), failing(), { run: { run_count: 1, empirical_policy: policy } })).state?.type,
    ).toBe('FAILED');
    expect(
      (await propose(state('RUNNING'), proposedNow('CRASHED'), { run: { run_count: 1, empirical_policy: policy } }))
        .state?.type,
    ).toBe('CRASHED');
    expect(
      (await propose(state('RUNNING'), failing(), { run: { run_count: 1, empirical_policy: policy }, force: true }))
        .state?.type,
    ).toBe('FAILED');
  });
});

describe('HandlePausingFlows and HandleResumingPausedFlows', () => {
  const pause = (details: NewStateFields['state_details'] = {}, name?: string) =>
    proposedNow('PAUSED', { name, state_details: details });

  it('pauses a RUNNING run once per pause key', async () => {
    const outcome = await propose(state('RUNNING'), pause({ pause_key: 'step-1' }));
    expect(outcome).toMatchObject({ status: 'ACCEPT', state: { type: 'PAUSED' } });
    expect(outcome.run.empirical_policy.pause_keys).toEqual(['step-1']);

    const again = await propose(state('RUNNING'), pause({ pause_key: 'step-1' }), {
      run: { empirical_policy: outcome.run.empirical_policy },
    });
    expect(again).toMatchObject({
      status: 'REJECT',
      written: false,
      details: { reason: 'This pause has already fired.' },
    });
    expect(again.run.empirical_policy.pause_keys).toEqual(['step-1']);

    const unnamed = await propose(state('RUNNING'), pause());
    expect(unnamed.run.empirical_policy.pause_keys).toHaveLength(1);
  });

  it('refuses to pause or suspend a run that is not running, a subflow, or a run without a deployment', async () => {
    expect((await propose(state('PENDING'), pause())).details).toEqual({
      type: 'reject_details',
      reason: 'Cannot pause flows that are not currently running.',
    });
    expect((await propose(null, pause({}, 'Suspended'))).details).toEqual({
      type: 'abort_details',
      reason: 'Cannot suspend flows with no state.',
    });
    const suspend = () => pause({ pause_reschedule: true }, 'Suspended');
    expect((await propose(state('RUNNING'), suspend())).details).toEqual({
      type: 'abort_details',
      reason: 'Cannot suspend flows without a deployment.',
    });
    const subflow = { parent_task_run_id: '7e6d5c4b-3a29-4187-9f6e-5d4c3b2a1908', deployment_id: DEPLOYMENT_ID };
    expect((await propose(state('RUNNING'), suspend(), { run: subflow })).details).toEqual({
      type: 'abort_details',
      reason: 'Cannot suspend subflows.',
    });
    expect((await propose(state('RUNNING'), suspend(), { run: { deployment_id: DEPLOYMENT_ID } })).status).toBe(
      'ACCEPT',
    );
  });

  it('lets a paused run resume, be rescheduled, be cancelled or finish, marking it as resuming', async () => {
    for (const type of ['RUNNING', 'CANCELLING', 'COMPLETED'] as const) {
      const outcome = await propose(state('PAUSED'), proposedNow(type), { run: { infrastructure_pid: '42' } });
      expect(outcome).toMatchObject({ status: 'ACCEPT', state: { type } });
      expect(outcome.run.empirical_policy.resuming).toBe(true);
    }
    const suspended = state('PAUSED', { name: 'Suspended', state_details: { pause_reschedule: true } });
    const rescheduled = await propose(suspended, proposedNow('SCHEDULED', { name: 'Resuming' }), {
      run: { deployment_id: DEPLOYMENT_ID },
    });
    expect(rescheduled).toMatchObject({ status: 'ACCEPT', state: { type: 'SCHEDULED' } });
    expect(rescheduled.run.empirical_policy.resuming).toBe(true);
    expect((await propose(state('PAUSED'), proposedNow('PENDING'))).details).toEqual({
      type: 'reject_details',
      reason: 'This run cannot transition to the StateType.PENDING state from the StateType.PAUSED state.',
    });
  });

  it('starts a blocking pause over when it ends in a SCHEDULED state: its pauses fire again', async () => {
    const policy = flowRunPolicy({ pause_keys: ['step-1'] });
    const outcome = await propose(state('PAUSED'), proposedNow('SCHEDULED'), {
      run: { deployment_id: DEPLOYMENT_ID, empirical_policy: policy },
    });
    expect(outcome.status).toBe('ACCEPT');
    expect(outcome.run.empirical_policy).toMatchObject({ resuming: false, pause_keys: [], retry_type: 'reschedule' });
  });

  it('fails a run whose pause timed out (but lets it be cancelled), and keeps a suspended run without deployment', async () => {
    const timedOut = state('PAUSED', { state_details: { pause_timeout: at(-1) } });
    expect(await propose(timedOut, proposedNow('CANCELLING'))).toMatchObject({
      status: 'ACCEPT',
      state: { type: 'CANCELLING' },
    });
    const outcome = await propose(timedOut, proposedNow('RUNNING'));
    expect(outcome).toMatchObject({
      status: 'REJECT',
      details: { reason: 'The flow run pause has timed out and can no longer resume.' },
      state: { type: 'FAILED', message: 'The flow was running and never resumed.' },
    });
    const suspended = state('PAUSED', { name: 'Suspended', state_details: { pause_reschedule: true } });
    expect((await propose(suspended, proposedNow('SCHEDULED', { name: 'Resuming' }))).details).toEqual({
      type: 'reject_details',
      reason: 'Cannot reschedule a resuming flow run without a deployment.',
    });
  });
});
