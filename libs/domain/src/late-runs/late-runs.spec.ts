import { StateType } from '@app/contracts';
import { InMemoryDeploymentConcurrency } from '../../../../test/support/in-memory-deployment-concurrency';
import {
  flowRunPolicy,
  newState,
  OrchestratedRun,
  OrchestrationContext,
  proposedState,
  RunState,
} from '../orchestration';
import { lateState, MARK_LATE_RUNS_POLICY, orchestrateLateRun } from './late-runs';
import { EnforceDeploymentConcurrencyOnLate, EnsureOnlyScheduledFlowsMarkedLate } from '../orchestration';

const NOW = new Date('2026-08-21T12:00:00.000Z');
const DUE = new Date(NOW.getTime() - 60_000);

const DEPLOYMENT_ID = '0b7e4c1e-3f7a-4d51-9a57-8c1b0f6f2d10';

function markLate(
  current: RunState,
  concurrency = new InMemoryDeploymentConcurrency(() => NOW.getTime()),
  deploymentId: string | null = null,
) {
  const run: OrchestratedRun = {
    id: 'a6c0f9a4-62f5-4ad8-9f3c-2b2f6f0b9c11',
    deployment_id: deploymentId,
    parent_task_run_id: null,
    infrastructure_pid: null,
    state_type: current.type,
    state_name: current.name,
    state_timestamp: current.timestamp,
    run_count: 0,
    start_time: null,
    end_time: null,
    total_run_time: 0,
    expected_start_time: DUE,
    next_scheduled_start_time: current.type === 'SCHEDULED' ? DUE : null,
    empirical_policy: flowRunPolicy({}),
  };
  const context = new OrchestrationContext(run, current, proposedState(lateState(DUE), NOW), {
    now: NOW,
    clientVersion: null,
    apiVersion: null,
    takenStateTimestamps: new Set([current.timestamp.getTime()]),
    startedSinceScheduled: false,
    deploymentConcurrency: concurrency,
  });
  return orchestrateLateRun(context);
}

const scheduled = (name = 'Scheduled') => newState('SCHEDULED', DUE, { name, state_details: { scheduled_time: DUE } });

describe('marking a run late (MarkLateRunsPolicy)', () => {
  it('gives a Scheduled run a new SCHEDULED state named Late, due when it was', async () => {
    const current = scheduled();
    const outcome = await markLate(current);
    expect(outcome).toMatchObject({ status: 'ACCEPT', written: true });
    expect(outcome.state).toMatchObject({ type: 'SCHEDULED', name: 'Late', timestamp: NOW, message: null });
    expect(outcome.state?.id).not.toBe(current.id);
    expect(outcome.state?.state_details.scheduled_time).toEqual(DUE);
    expect(outcome.run).toMatchObject({
      state_type: 'SCHEDULED',
      state_name: 'Late',
      state_timestamp: NOW,
      next_scheduled_start_time: DUE,
    });
  });

  it('rejects a run that is already Late', async () => {
    const outcome = await markLate(scheduled('Late'));
    expect(outcome).toMatchObject({
      status: 'REJECT',
      written: false,
      details: { reason: 'This flow run is already marked late.' },
    });
  });

  it.each<StateType>(['PENDING', 'RUNNING', 'COMPLETED', 'CANCELLED'])('rejects a %s run', async (type) => {
    const outcome = await markLate(newState(type, DUE));
    expect(outcome).toMatchObject({
      status: 'REJECT',
      written: false,
      details: { reason: 'Only scheduled flows can be marked late.' },
    });
    expect(outcome.state?.type).toBe(type);
  });
});

describe('MarkLateRunsPolicy and deployment concurrency', () => {
  it("holds Prefect 3.9.1's rules in order", () => {
    expect(MARK_LATE_RUNS_POLICY).toEqual([EnsureOnlyScheduledFlowsMarkedLate, EnforceDeploymentConcurrencyOnLate]);
  });

  async function fullDeployment(collision_strategy: 'ENQUEUE' | 'CANCEL_NEW') {
    const concurrency = new InMemoryDeploymentConcurrency(() => NOW.getTime());
    concurrency.deploy(DEPLOYMENT_ID, { concurrency_limit: 1, concurrency_options: { collision_strategy } });
    expect(await concurrency.leases.acquire(DEPLOYMENT_ID, 'another-run', 1, 300)).not.toBeNull();
    return concurrency;
  }

  it('cancels instead of marking Late when the CANCEL_NEW deployment has no free slot', async () => {
    const outcome = await markLate(scheduled(), await fullDeployment('CANCEL_NEW'), DEPLOYMENT_ID);
    expect(outcome).toMatchObject({
      status: 'REJECT',
      written: true,
      details: { reason: 'Deployment concurrency limit is full and uses the CANCEL_NEW strategy.' },
      state: { type: 'CANCELLED', name: 'Cancelled', message: 'Deployment concurrency limit reached.' },
    });
    expect(outcome.run).toMatchObject({ state_type: 'CANCELLED', next_scheduled_start_time: null });
  });

  it('marks Late when the deployment enqueues, even at its limit', async () => {
    const outcome = await markLate(scheduled(), await fullDeployment('ENQUEUE'), DEPLOYMENT_ID);
    expect(outcome).toMatchObject({ status: 'ACCEPT', state: { type: 'SCHEDULED', name: 'Late' } });
  });

  it('marks Late when the CANCEL_NEW deployment has a free slot', async () => {
    const concurrency = new InMemoryDeploymentConcurrency(() => NOW.getTime());
    concurrency.deploy(DEPLOYMENT_ID, {
      concurrency_limit: 2,
      concurrency_options: { collision_strategy: 'CANCEL_NEW' },
    });
    await concurrency.leases.acquire(DEPLOYMENT_ID, 'another-run', 2, 300);
    const outcome = await markLate(scheduled(), concurrency, DEPLOYMENT_ID);
    expect(outcome).toMatchObject({ status: 'ACCEPT', state: { type: 'SCHEDULED', name: 'Late' } });
  });
});
