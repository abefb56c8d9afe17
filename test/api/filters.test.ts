import 'reflect-metadata';
import {
  DeploymentCountRequestDto,
  DeploymentFilterRequestDto,
  FlowCountRequestDto,
  FlowFilterRequestDto,
  FlowRunCountRequestDto,
  FlowRunFilterRequestDto,
  validateModel,
} from '@app/contracts';
import type { DeploymentEntity, FlowEntity, FlowRunEntity, StateType } from '@app/persistence';
import type { ClassConstructor } from 'class-transformer';
import fc from 'fast-check';
import { TestGateway } from '../support/gateway';

/** A request body exactly as the HTTP layer would hand it over (validated, defaults applied). */
function body<T extends object>(model: ClassConstructor<T>, raw: unknown): T {
  const result = validateModel(model, raw);
  if (!result.ok) throw new Error(`invalid test body: ${JSON.stringify(result.errors)}`);
  return result.value;
}

const names = (rows: { name: string }[]) => rows.map((row) => row.name);
const T0 = new Date('2026-03-01T12:00:00.000Z');
const hours = (n: number) => new Date(T0.getTime() + n * 3_600_000);
const CREATOR_ID = '5f0c1a4e-2b7d-4c55-9a1e-0d6f3b2c8e71';
const PARENT_TASK_RUN_ID = 'a8e2c4d6-1f3b-4a5c-8d7e-9f0a1b2c3d4e';

describe('cross-resource filters (flows, deployments, flow runs)', () => {
  let gw: TestGateway;
  const flow: Record<string, FlowEntity> = {};
  const deployment: Record<string, DeploymentEntity> = {};
  const run: Record<string, FlowRunEntity> = {};
  const pool: Record<string, string> = {};
  const queue: Record<string, string> = {};

  const flows = (raw: object, limit = 200) =>
    gw.db.repos.queries.flows(body(FlowFilterRequestDto, raw), limit).then(names);
  const countFlows = (raw: object) => gw.db.repos.queries.countFlows(body(FlowCountRequestDto, raw));
  const deployments = (raw: object, limit = 200) =>
    gw.db.repos.queries.deployments(body(DeploymentFilterRequestDto, raw), limit);
  const deploymentKeys = (raw: object, limit = 200) =>
    deployments(raw, limit).then((rows) =>
      rows.map((d) => Object.keys(deployment).find((key) => deployment[key].id === d.id)),
    );
  const countDeployments = (raw: object) => gw.db.repos.queries.countDeployments(body(DeploymentCountRequestDto, raw));
  const runs = (raw: object, limit = 200) =>
    gw.db.repos.queries.flowRuns(body(FlowRunFilterRequestDto, raw), limit).then(names);
  const countRuns = (raw: object) => gw.db.repos.queries.countFlowRuns(body(FlowRunCountRequestDto, raw));
  const sorted = (list: string[]) => [...list].sort();

  beforeAll(async () => {
    gw = await TestGateway.start();
    const repos = gw.db.repos;
    for (const [key, type] of [
      ['process', 'process'],
      ['k8s', 'kubernetes'],
    ]) {
      pool[key] = (await repos.workPools.insert({ name: `${key}-pool`, type })).id;
    }
    const queues: [string, string, string, number][] = [
      ['processDefault', 'process', 'default', 1],
      ['processCritical', 'process', 'Critical-path', 2],
      ['k8sDefault', 'k8s', 'default', 1],
    ];
    for (const [key, poolKey, name, priority] of queues) {
      queue[key] = (await repos.workQueues.insert({ work_pool_id: pool[poolKey], name, priority })).id;
    }
    // Inserted one by one so that `created` orders them: etl, report, lonely, odd.
    flow.etl = await repos.flows.insert({ name: 'etl-Marvin', tags: ['a', 'b'] });
    flow.report = await repos.flows.insert({ name: 'report', tags: ['b'] });
    flow.lonely = await repos.flows.insert({ name: 'lonely', tags: [] });
    flow.odd = await repos.flows.insert({ name: 'x_y%z', tags: ['c'] });

    deployment.nightlyEtl = await repos.deployments.insert({
      name: 'nightly',
      flow_id: flow.etl.id,
      tags: ['prod', 'a'],
      work_queue_id: queue.processDefault,
      work_queue_name: 'default',
    });
    deployment.hourly = await repos.deployments.insert({
      name: 'hourly',
      flow_id: flow.report.id,
      tags: [],
      paused: true,
      work_queue_id: queue.k8sDefault,
      work_queue_name: 'default',
    });
    deployment.nightlyReport = await repos.deployments.insert({
      name: 'nightly',
      flow_id: flow.report.id,
      tags: ['dev'],
      concurrency_limit: 3,
      work_queue_id: queue.processCritical,
      work_queue_name: 'Critical-path',
    });
    deployment.unqueued = await repos.deployments.insert({
      name: 'manual',
      flow_id: flow.odd.id,
      tags: ['dev', 'prod'],
    });

    const state = (type: StateType, name: string) => ({ state_type: type, state_name: name });
    run.done = await repos.flowRuns.insert({
      name: 'done-run',
      flow_id: flow.etl.id,
      deployment_id: deployment.nightlyEtl.id,
      work_queue_id: queue.processDefault,
      work_queue_name: 'default',
      ...state('COMPLETED', 'Completed'),
      start_time: hours(0),
      end_time: hours(1),
      expected_start_time: hours(0),
      tags: ['a'],
      flow_version: '1.0',
      idempotency_key: 'k1',
      created_by: { id: CREATOR_ID, type: 'DEPLOYMENT', display_value: 'nightly' },
    });
    run.upcoming = await repos.flowRuns.insert({
      name: 'upcoming-run',
      flow_id: flow.etl.id,
      deployment_id: deployment.nightlyEtl.id,
      work_queue_id: queue.processDefault,
      work_queue_name: 'default',
      ...state('SCHEDULED', 'Scheduled'),
      expected_start_time: hours(24),
      next_scheduled_start_time: hours(24),
      tags: [],
      flow_version: '2.0',
      idempotency_key: 'k2',
      created_by: { id: null, type: 'AUTOMATION' },
    });
    run.failed = await repos.flowRuns.insert({
      name: 'failed-run',
      flow_id: flow.report.id,
      deployment_id: deployment.hourly.id,
      work_queue_id: queue.k8sDefault,
      work_queue_name: 'default',
      ...state('FAILED', 'Failed'),
      start_time: hours(2),
      end_time: hours(3),
      expected_start_time: hours(2),
      tags: ['b', 'c'],
      parent_task_run_id: PARENT_TASK_RUN_ID,
    });
    run.adhoc = await repos.flowRuns.insert({ name: 'Adhoc_RUN%1', flow_id: flow.report.id, tags: ['c'] });
    run.late = await repos.flowRuns.insert({
      name: 'late-run',
      flow_id: flow.report.id,
      deployment_id: deployment.nightlyReport.id,
      work_queue_id: queue.processCritical,
      work_queue_name: 'Critical-path',
      ...state('SCHEDULED', 'Late'),
      expected_start_time: hours(-24),
      next_scheduled_start_time: hours(-24),
      tags: ['b'],
    });
  });
  afterAll(() => gw.stop());

  describe('flows', () => {
    it('returns every flow by name without a filter, and counts them', async () => {
      expect(await flows({})).toEqual(['etl-Marvin', 'lonely', 'report', 'x_y%z']);
      expect(await countFlows({})).toBe(4);
      expect(await flows({ flows: {}, flow_runs: null })).toHaveLength(4);
    });

    it('filters on id any_ / not_any_; an empty any_ matches nothing, an empty not_any_ everything', async () => {
      expect(await flows({ flows: { id: { any_: [flow.etl.id, flow.odd.id] } } })).toEqual(['etl-Marvin', 'x_y%z']);
      expect(await flows({ flows: { id: { not_any_: [flow.etl.id] } } })).toEqual(['lonely', 'report', 'x_y%z']);
      expect(await flows({ flows: { id: { any_: [] } } })).toEqual([]);
      expect(await flows({ flows: { id: { not_any_: [] } } })).toHaveLength(4);
    });

    it('filters on name any_ (exact) and like_ (case-insensitive substring, wildcards literal)', async () => {
      expect(await flows({ flows: { name: { any_: ['report', 'etl'] } } })).toEqual(['report']);
      expect(await flows({ flows: { name: { like_: 'MARV' } } })).toEqual(['etl-Marvin']);
      expect(await flows({ flows: { name: { like_: '_' } } })).toEqual(['x_y%z']);
      expect(await flows({ flows: { name: { like_: 'y%z' } } })).toEqual(['x_y%z']);
      expect(await flows({ flows: { name: { like_: '%' } } })).toEqual(['x_y%z']);
      expect(await flows({ flows: { name: { like_: 'r_p' } } })).toEqual([]);
    });

    it('filters on tags all_ (superset) and is_null_ (no tags)', async () => {
      expect(await flows({ flows: { tags: { all_: ['a', 'b'] } } })).toEqual(['etl-Marvin']);
      expect(await flows({ flows: { tags: { all_: ['b'] } } })).toEqual(['etl-Marvin', 'report']);
      expect(await flows({ flows: { tags: { all_: [] } } })).toHaveLength(4);
      expect(await flows({ flows: { tags: { is_null_: true } } })).toEqual(['lonely']);
      expect(await flows({ flows: { tags: { is_null_: false } } })).toEqual(['etl-Marvin', 'report', 'x_y%z']);
      expect(await flows({ flows: { tags: { operator: 'or_', all_: ['c'], is_null_: true } } })).toEqual([
        'lonely',
        'x_y%z',
      ]);
    });

    it('filters on having deployments (deployment.is_null_)', async () => {
      expect(await flows({ flows: { deployment: { is_null_: true } } })).toEqual(['lonely']);
      expect(await flows({ flows: { deployment: { is_null_: false } } })).toEqual(['etl-Marvin', 'report', 'x_y%z']);
    });

    it('combines criteria with and_ by default and with or_ on request (an empty sub-filter is TRUE)', async () => {
      const criteria = { name: { any_: ['lonely'] }, tags: { all_: ['c'] } };
      expect(await flows({ flows: criteria })).toEqual([]);
      expect(await flows({ flows: { operator: 'or_', ...criteria } })).toEqual(['lonely', 'x_y%z']);
      expect(await flows({ flows: { operator: 'or_', id: {}, name: { any_: ['lonely'] } } })).toHaveLength(4);
    });

    it('keeps flows with a matching flow run, deployment or work pool', async () => {
      expect(await flows({ flow_runs: { state: { type: { any_: ['FAILED'] } } } })).toEqual(['report']);
      expect(await flows({ flow_runs: {} })).toEqual(['etl-Marvin', 'report']);
      expect(await flows({ deployments: { paused: { eq_: true } } })).toEqual(['report']);
      expect(await flows({ deployments: { tags: { all_: ['dev'] } } })).toEqual(['report', 'x_y%z']);
      expect(await flows({ work_pools: { type: { any_: ['process'] } } })).toEqual(['etl-Marvin', 'report']);
      expect(await flows({ work_pools: { name: { any_: ['k8s-pool'] } } })).toEqual(['report']);
      expect(await flows({ work_pools: {} })).toEqual(['etl-Marvin', 'report']);
      expect(
        await flows({ deployments: { tags: { all_: ['prod'] } }, work_pools: { name: { any_: ['k8s-pool'] } } }),
      ).toEqual([]);
      expect(await flows({ flows: { tags: { all_: ['b'] } }, flow_runs: { tags: { any_: ['a'] } } })).toEqual([
        'etl-Marvin',
      ]);
      expect(await countFlows({ deployments: { tags: { all_: ['dev'] } } })).toBe(2);
    });

    it('matches nothing for a task_runs filter when the flows have no task runs', async () => {
      expect(await flows({ task_runs: {} })).toEqual([]);
      expect(await countFlows({ task_runs: { name: { like_: 'x' } } })).toBe(0);
      expect(await flows({ task_runs: null })).toHaveLength(4);
    });

    it('sorts by every FlowSort value', async () => {
      expect(await flows({ sort: 'NAME_ASC' })).toEqual(['etl-Marvin', 'lonely', 'report', 'x_y%z']);
      expect(await flows({ sort: 'NAME_DESC' })).toEqual(['x_y%z', 'report', 'lonely', 'etl-Marvin']);
      expect(await flows({ sort: 'CREATED_DESC' })).toEqual(['x_y%z', 'lonely', 'report', 'etl-Marvin']);
      await gw.db.repos.flows.updateById(flow.lonely.id, { tags: [] });
      expect((await flows({ sort: 'UPDATED_DESC' }))[0]).toBe('lonely');
    });

    it('pages with offset and limit', async () => {
      expect(await flows({ offset: 1 }, 2)).toEqual(['lonely', 'report']);
      expect(await flows({ offset: 3 }, 2)).toEqual(['x_y%z']);
      expect(await flows({}, 0)).toEqual([]);
    });
  });

  describe('deployments', () => {
    /** The two deployments named "nightly", in id order. */
    const nightlyByIdAsc = () =>
      deployment.nightlyEtl.id < deployment.nightlyReport.id
        ? ['nightlyEtl', 'nightlyReport']
        : ['nightlyReport', 'nightlyEtl'];

    it('returns every deployment by name, ties broken by id, and counts them', async () => {
      expect(await deploymentKeys({})).toEqual(['hourly', 'unqueued', ...nightlyByIdAsc()]);
      expect(await deploymentKeys({ sort: 'NAME_DESC' })).toEqual([
        ...nightlyByIdAsc().reverse(),
        'unqueued',
        'hourly',
      ]);
      expect(await countDeployments({})).toBe(4);
    });

    it('sorts by created and updated, newest first', async () => {
      expect(await deploymentKeys({ sort: 'CREATED_DESC' })).toEqual([
        'unqueued',
        'nightlyReport',
        'hourly',
        'nightlyEtl',
      ]);
      await gw.db.repos.deployments.updateById(deployment.hourly.id, { description: 'touched' });
      expect((await deploymentKeys({ sort: 'UPDATED_DESC' }))[0]).toBe('hourly');
    });

    it('filters on id, name and flow-or-deployment name', async () => {
      expect(await deploymentKeys({ deployments: { id: { any_: [deployment.hourly.id] } } })).toEqual(['hourly']);
      expect(await countDeployments({ deployments: { id: { not_any_: [deployment.hourly.id] } } })).toBe(3);
      expect(await countDeployments({ deployments: { name: { any_: ['nightly'] } } })).toBe(2);
      expect(await deploymentKeys({ deployments: { name: { like_: 'HOUR' } } })).toEqual(['hourly']);
      expect(await deploymentKeys({ deployments: { flow_or_deployment_name: { like_: 'marvin' } } })).toEqual([
        'nightlyEtl',
      ]);
      expect(await deploymentKeys({ deployments: { flow_or_deployment_name: { like_: 'man' } } })).toEqual([
        'unqueued',
      ]);
      expect(await countDeployments({ deployments: { flow_or_deployment_name: { like_: 'report' } } })).toBe(2);
      expect(await countDeployments({ deployments: { flow_or_deployment_name: { like_: '_' } } })).toBe(1);
    });

    it('filters on paused, work queue name and tags (all_, any_, is_null_, or_)', async () => {
      expect(await deploymentKeys({ deployments: { paused: { eq_: true } } })).toEqual(['hourly']);
      expect(await countDeployments({ deployments: { paused: { eq_: false } } })).toBe(3);
      expect(await countDeployments({ deployments: { paused: {} } })).toBe(4);
      expect(await countDeployments({ deployments: { work_queue_name: { any_: ['default'] } } })).toBe(2);
      expect(await deploymentKeys({ deployments: { tags: { all_: ['dev', 'prod'] } } })).toEqual(['unqueued']);
      expect(await countDeployments({ deployments: { tags: { any_: ['a', 'dev'] } } })).toBe(3);
      expect(await countDeployments({ deployments: { tags: { any_: [] } } })).toBe(0);
      expect(await deploymentKeys({ deployments: { tags: { is_null_: true } } })).toEqual(['hourly']);
      expect(await countDeployments({ deployments: { tags: { operator: 'or_', is_null_: true, all_: ['a'] } } })).toBe(
        2,
      );
      expect(
        await countDeployments({ deployments: { operator: 'or_', paused: { eq_: true }, tags: { all_: ['a'] } } }),
      ).toBe(2);
    });

    it('accepts and ignores the deprecated concurrency_limit filter, as Prefect 3', async () => {
      expect(await countDeployments({ deployments: { concurrency_limit: { ge_: 100, is_null_: true } } })).toBe(4);
      expect(
        await countDeployments({
          deployments: { operator: 'or_', concurrency_limit: { ge_: 1 }, paused: { eq_: true } },
        }),
      ).toBe(1);
    });

    it('keeps deployments whose flow, flow runs, queue or pool match', async () => {
      expect(await deploymentKeys({ flows: { name: { any_: ['report'] } } })).toEqual(['hourly', 'nightlyReport']);
      expect(await deploymentKeys({ flow_runs: { state: { type: { any_: ['SCHEDULED'] } } } })).toEqual(
        nightlyByIdAsc(),
      );
      expect(await countDeployments({ flow_runs: {} })).toBe(3);
      expect(await deploymentKeys({ work_pools: { type: { any_: ['kubernetes'] } } })).toEqual(['hourly']);
      expect(await countDeployments({ work_pools: {} })).toBe(3);
      expect(await deploymentKeys({ work_pool_queues: { name: { startswith_: ['crit'] } } })).toEqual([
        'nightlyReport',
      ]);
      expect(await countDeployments({ work_pool_queues: { name: { startswith_: ['DEF', 'zzz'] } } })).toBe(2);
      expect(await countDeployments({ work_pool_queues: { name: { startswith_: [] } } })).toBe(0);
      expect(await countDeployments({ work_pool_queues: { id: { any_: [queue.processCritical] } } })).toBe(1);
      expect(
        await countDeployments({
          work_pool_queues: { operator: 'or_', id: { any_: [queue.processCritical] }, name: { any_: ['default'] } },
        }),
      ).toBe(3);
      expect(
        await deploymentKeys({
          work_pools: { name: { any_: ['process-pool'] } },
          work_pool_queues: { name: { any_: ['default'] } },
        }),
      ).toEqual(['nightlyEtl']);
      expect(
        await countDeployments({ work_pools: { id: { any_: [pool.k8s] } }, flows: { name: { like_: 'etl' } } }),
      ).toBe(0);
      expect(await countDeployments({ task_runs: {} })).toBe(0);
    });

    it('pages with offset and limit over the stable order', async () => {
      const all = await deploymentKeys({});
      expect([...(await deploymentKeys({}, 2)), ...(await deploymentKeys({ offset: 2 }, 2))]).toEqual(all);
    });
  });

  describe('flow runs', () => {
    it('returns every run, newest id first by default, and counts them', async () => {
      const byIdDesc = Object.values(run)
        .sort((a, b) => b.id.localeCompare(a.id))
        .map((r) => r.name);
      expect(await runs({})).toEqual(byIdDesc);
      expect(await countRuns({})).toBe(5);
    });

    it.each<[string, object, string[]]>([
      ['id any_', { id: { any_: [] } }, []],
      ['name any_', { name: { any_: ['done-run', 'nope'] } }, ['done-run']],
      ['name like_', { name: { like_: 'RUN%' } }, ['Adhoc_RUN%1']],
      ['name like_ underscore', { name: { like_: 'c_R' } }, ['Adhoc_RUN%1']],
      ['tags all_', { tags: { all_: ['b', 'c'] } }, ['failed-run']],
      ['tags any_', { tags: { any_: ['a', 'c'] } }, ['Adhoc_RUN%1', 'done-run', 'failed-run']],
      ['tags is_null_', { tags: { is_null_: true } }, ['upcoming-run']],
      ['tags or_', { tags: { operator: 'or_', all_: ['a'], is_null_: true } }, ['done-run', 'upcoming-run']],
      ['deployment_id is_null_', { deployment_id: { is_null_: true } }, ['Adhoc_RUN%1']],
      ['work_queue_name any_', { work_queue_name: { any_: ['Critical-path'] } }, ['late-run']],
      [
        'work_queue_name is_null_ false',
        { work_queue_name: { is_null_: false } },
        ['done-run', 'failed-run', 'late-run', 'upcoming-run'],
      ],
      ['state type any_', { state: { type: { any_: ['SCHEDULED'] } } }, ['late-run', 'upcoming-run']],
      [
        'state type not_any_ (NULL state excluded)',
        { state: { type: { not_any_: ['SCHEDULED'] } } },
        ['done-run', 'failed-run'],
      ],
      ['state name any_', { state: { name: { any_: ['Late'] } } }, ['late-run']],
      ['state name not_any_', { state: { name: { not_any_: ['Late', 'Scheduled'] } } }, ['done-run', 'failed-run']],
      [
        'state type and name',
        { state: { type: { any_: ['SCHEDULED'] }, name: { not_any_: ['Late'] } } },
        ['upcoming-run'],
      ],
      [
        'state or_',
        { state: { operator: 'or_', type: { any_: ['FAILED'] }, name: { any_: ['Late'] } } },
        ['failed-run', 'late-run'],
      ],
      ['state empty', { state: { type: {} } }, ['Adhoc_RUN%1', 'done-run', 'failed-run', 'late-run', 'upcoming-run']],
      ['flow_version any_', { flow_version: { any_: ['2.0'] } }, ['upcoming-run']],
      [
        'start_time inclusive bounds',
        { start_time: { after_: hours(0).toISOString(), before_: '2026-03-01 14:00:00+00:00' } },
        ['done-run', 'failed-run'],
      ],
      ['start_time is_null_', { start_time: { is_null_: false } }, ['done-run', 'failed-run']],
      ['end_time before_', { end_time: { before_: hours(1).toISOString() } }, ['done-run']],
      ['end_time is_null_', { end_time: { is_null_: true } }, ['Adhoc_RUN%1', 'late-run', 'upcoming-run']],
      [
        'expected_start_time after_',
        { expected_start_time: { after_: hours(2).toISOString() } },
        ['failed-run', 'upcoming-run'],
      ],
      [
        'expected_start_time before_',
        { expected_start_time: { before_: hours(0).toISOString() } },
        ['done-run', 'late-run'],
      ],
      [
        'next_scheduled_start_time before_ (naive = UTC)',
        { next_scheduled_start_time: { before_: '2026-03-01T12:00:00' } },
        ['late-run'],
      ],
      [
        'next_scheduled_start_time after_',
        { next_scheduled_start_time: { after_: hours(-24).toISOString() } },
        ['late-run', 'upcoming-run'],
      ],
      [
        'parent_flow_run_id any_ (no task runs, no subflows)',
        { parent_flow_run_id: { any_: [PARENT_TASK_RUN_ID] } },
        [],
      ],
      [
        'parent_flow_run_id empty',
        { parent_flow_run_id: {} },
        ['Adhoc_RUN%1', 'done-run', 'failed-run', 'late-run', 'upcoming-run'],
      ],
      ['parent_task_run_id any_', { parent_task_run_id: { any_: [PARENT_TASK_RUN_ID] } }, ['failed-run']],
      ['parent_task_run_id is_null_', { parent_task_run_id: { is_null_: false } }, ['failed-run']],
      ['idempotency_key any_', { idempotency_key: { any_: ['k1', 'k3'] } }, ['done-run']],
      ['idempotency_key not_any_ (NULL keys excluded)', { idempotency_key: { not_any_: ['k1'] } }, ['upcoming-run']],
      ['created_by id_ (any case)', { created_by: { id_: [CREATOR_ID.toUpperCase()] } }, ['done-run']],
      ['created_by type_', { created_by: { type_: ['AUTOMATION', 'USER'] } }, ['upcoming-run']],
      ['created_by is_null_', { created_by: { is_null_: true } }, ['Adhoc_RUN%1', 'failed-run', 'late-run']],
      [
        'flow run or_',
        { operator: 'or_', name: { any_: ['late-run'] }, tags: { all_: ['a'] } },
        ['done-run', 'late-run'],
      ],
    ])('filters on %s', async (_case, flowRunFilter, expected) => {
      expect(sorted(await runs({ flow_runs: flowRunFilter }))).toEqual(expected);
      expect(await countRuns({ flow_runs: flowRunFilter })).toBe(expected.length);
    });

    it('filters on id any_ / not_any_', async () => {
      expect(await runs({ flow_runs: { id: { any_: [run.done.id] } } })).toEqual(['done-run']);
      expect(await countRuns({ flow_runs: { id: { not_any_: [run.done.id, run.late.id] } } })).toBe(3);
    });

    it('filters on deployment_id any_', async () => {
      expect(sorted(await runs({ flow_runs: { deployment_id: { any_: [deployment.nightlyEtl.id] } } }))).toEqual([
        'done-run',
        'upcoming-run',
      ]);
    });

    it.each<[string, object, string[]]>([
      ['flows', { flows: { name: { like_: 'marvin' } } }, ['done-run', 'upcoming-run']],
      [
        'flows with tags',
        { flows: { tags: { all_: ['b'] } } },
        ['Adhoc_RUN%1', 'done-run', 'failed-run', 'late-run', 'upcoming-run'],
      ],
      ['deployments', { deployments: { paused: { eq_: true } } }, ['failed-run']],
      [
        'deployments (runs without one never match)',
        { deployments: {} },
        ['done-run', 'failed-run', 'late-run', 'upcoming-run'],
      ],
      ['work_pools', { work_pools: { name: { any_: ['process-pool'] } } }, ['done-run', 'late-run', 'upcoming-run']],
      [
        'work_pool_queues by name',
        { work_pool_queues: { name: { any_: ['default'] } } },
        ['done-run', 'failed-run', 'upcoming-run'],
      ],
      [
        'pool and queue together',
        { work_pools: { type: { any_: ['process'] } }, work_pool_queues: { name: { any_: ['default'] } } },
        ['done-run', 'upcoming-run'],
      ],
      [
        'flow runs and flows',
        { flow_runs: { state: { type: { any_: ['SCHEDULED'] } } }, flows: { name: { any_: ['report'] } } },
        ['late-run'],
      ],
      ['task_runs (the runs have none)', { task_runs: {} }, []],
      ['flows and task_runs', { flows: {}, task_runs: { id: { any_: [] } } }, []],
    ])('keeps runs whose related %s match', async (_case, filters, expected) => {
      expect(sorted(await runs(filters))).toEqual(expected);
      expect(await countRuns(filters)).toBe(expected.length);
    });

    it('keeps runs whose work pool or work queue has a given id', async () => {
      expect(await runs({ work_pools: { id: { any_: [pool.k8s] } } })).toEqual(['failed-run']);
      expect(await runs({ work_pool_queues: { id: { any_: [queue.processCritical] } } })).toEqual(['late-run']);
      expect(
        await countRuns({
          work_pools: { operator: 'or_', id: { any_: [pool.k8s] }, name: { any_: ['process-pool'] } },
        }),
      ).toBe(4);
    });

    it.each<[string, string[]]>([
      ['START_TIME_ASC', ['late-run', 'done-run', 'failed-run', 'upcoming-run', 'Adhoc_RUN%1']],
      ['START_TIME_DESC', ['Adhoc_RUN%1', 'upcoming-run', 'failed-run', 'done-run', 'late-run']],
      ['EXPECTED_START_TIME_ASC', ['late-run', 'done-run', 'failed-run', 'upcoming-run', 'Adhoc_RUN%1']],
      ['EXPECTED_START_TIME_DESC', ['Adhoc_RUN%1', 'upcoming-run', 'failed-run', 'done-run', 'late-run']],
      ['NAME_ASC', ['Adhoc_RUN%1', 'done-run', 'failed-run', 'late-run', 'upcoming-run']],
      ['NAME_DESC', ['upcoming-run', 'late-run', 'failed-run', 'done-run', 'Adhoc_RUN%1']],
    ])('sorts by %s (NULLs last ascending, first descending, as Postgres under Prefect)', async (sort, expected) => {
      expect(await runs({ sort })).toEqual(expected);
    });

    it('sorts by NEXT_SCHEDULED_START_TIME_ASC and END_TIME_DESC, ties broken by id', async () => {
      const unscheduled = [run.done, run.failed, run.adhoc].sort((a, b) => a.id.localeCompare(b.id)).map((r) => r.name);
      expect(await runs({ sort: 'NEXT_SCHEDULED_START_TIME_ASC' })).toEqual([
        'late-run',
        'upcoming-run',
        ...unscheduled,
      ]);
      const unended = [run.upcoming, run.adhoc, run.late].sort((a, b) => b.id.localeCompare(a.id)).map((r) => r.name);
      expect(await runs({ sort: 'END_TIME_DESC' })).toEqual([...unended, 'failed-run', 'done-run']);
    });

    it('pages every sort with offset and limit without losing or repeating a run', async () => {
      const sorts = [
        'ID_DESC',
        'START_TIME_ASC',
        'START_TIME_DESC',
        'EXPECTED_START_TIME_ASC',
        'EXPECTED_START_TIME_DESC',
        'NAME_ASC',
        'NAME_DESC',
        'NEXT_SCHEDULED_START_TIME_ASC',
        'END_TIME_DESC',
      ];
      for (const sort of sorts) {
        const pages = [await runs({ sort }, 2), await runs({ sort, offset: 2 }, 2), await runs({ sort, offset: 4 }, 2)];
        expect(pages.flat()).toEqual(await runs({ sort }));
      }
    });

    it('returns bare FlowRunEntity rows', async () => {
      const [row] = await gw.db.repos.queries.flowRuns(
        body(FlowRunFilterRequestDto, { flow_runs: { id: { any_: [run.done.id] } } }),
        1,
      );
      expect(row).toMatchObject({
        id: run.done.id,
        flow_id: flow.etl.id,
        state_type: 'COMPLETED',
        work_queue_id: queue.processDefault,
      });
      expect(row.start_time).toEqual(hours(0));
    });
  });

  it('matches like_ as a case-insensitive literal substring for any text (property, against Postgres)', async () => {
    const all = await flows({});
    const alphabet = fc.constantFrom('x', 'X', 'y', '_', '%', 'z', '\\', '-', 'm', 'A');
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: alphabet, maxLength: 4 }), async (needle) => {
        const expected = all.filter((name) => name.toLowerCase().includes(needle.toLowerCase()));
        expect(await flows({ flows: { name: { like_: needle } } })).toEqual(expected);
      }),
      { numRuns: 60 },
    );
  });
});

describe('filter bodies as the stock client sends them', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await TestGateway.start();
  });
  afterAll(() => gw.stop());

  it.each(['/flows/filter', '/deployments/filter', '/flow_runs/filter'])(
    '%s treats explicit nulls for sort, offset and limit as defaults',
    async (path) => {
      const response = await gw.post(path, { sort: null, offset: null, limit: null });
      expect(response.status).toBe(200);
      expect(response.body).toEqual([]);
    },
  );
});
