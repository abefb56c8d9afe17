import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { TestGateway } from '../support/gateway';
import { expectOperation } from '../support/openapi';

describe('flow runs API', () => {
  let gw: TestGateway;
  let flowId: string;
  let pool: { id: string; name: string; defaultQueueId: string; criticalQueueId: string };

  beforeAll(async () => {
    gw = await TestGateway.start();
    flowId = (await gw.post('/flows/', { name: 'etl', labels: { team: 'data', tier: 1 } })).body.id;
    const repos = gw.db.repos;
    const row = await repos.workPools.insert({ name: 'process-pool', type: 'process' });
    const defaultQueue = await repos.workQueues.insert({ work_pool_id: row.id, name: 'default', priority: 1 });
    const critical = await repos.workQueues.insert({ work_pool_id: row.id, name: 'critical', priority: 2 });
    await repos.workPools.updateById(row.id, { default_queue_id: defaultQueue.id });
    pool = { id: row.id, name: row.name, defaultQueueId: defaultQueue.id, criticalQueueId: critical.id };
  });
  afterAll(() => gw.stop());

  const countRows = async () =>
    Number((await gw.app.get(DataSource).query<{ count: string }[]>('SELECT count(*) FROM flow_run'))[0].count);

  describe('POST /flow_runs/', () => {
    it('creates a PENDING run by default, named with a slug and labelled after its flow', async () => {
      const response = await gw.post('/flow_runs/', {
        flow_id: flowId,
        parameters: { x: 1 },
        tags: ['t'],
        labels: { tier: 2 },
      });
      expectOperation(response, 'POST', '/flow_runs/', 201);
      const run = response.body;
      expect(run.name).toMatch(/^[a-z]+-[a-z]+$/);
      expect(run).toMatchObject({
        flow_id: flowId,
        parameters: { x: 1 },
        tags: ['t'],
        labels: { team: 'data', tier: 2, 'prefect.flow.id': flowId },
        state_type: 'PENDING',
        state_name: 'Pending',
        state: { type: 'PENDING', name: 'Pending', state_details: { flow_run_id: run.id } },
        work_queue_id: null,
        work_pool_id: null,
        job_variables: {},
        run_count: 0,
        empirical_policy: { retries: null, pause_keys: [], resuming: false },
      });
      expect(run.state_id).toBe(run.state.id);
      expect(run.expected_start_time).toBe(run.state.timestamp);
      expect(run.next_scheduled_start_time).toBeNull();
    });

    it('records an initial SCHEDULED state through the same bookkeeping as set_state', async () => {
      const scheduledTime = '2030-01-01T00:00:00.000Z';
      const response = await gw.post('/flow_runs/', {
        flow_id: flowId,
        name: 'later',
        state: { type: 'SCHEDULED', name: 'Scheduled', state_details: { scheduled_time: '2030-01-01 00:00:00+00:00' } },
      });
      expectOperation(response, 'POST', '/flow_runs/', 201);
      expect(response.body).toMatchObject({
        name: 'later',
        state_type: 'SCHEDULED',
        expected_start_time: scheduledTime,
        next_scheduled_start_time: scheduledTime,
        state: { state_details: { scheduled_time: scheduledTime } },
        estimated_start_time_delta: 0,
      });
    });

    it('forces the initial state: a run can be created RUNNING or COMPLETED', async () => {
      const running = await gw.post('/flow_runs/', { flow_id: flowId, state: { type: 'RUNNING' } });
      expect(running.body).toMatchObject({
        state_type: 'RUNNING',
        run_count: 1,
        start_time: running.body.state.timestamp,
      });
      const done = await gw.post('/flow_runs/', { flow_id: flowId, state: { type: 'COMPLETED' } });
      expect(done.body).toMatchObject({ state_type: 'COMPLETED', end_time: done.body.state.timestamp });
    });

    it('returns the existing run (200) for a known (flow_id, idempotency_key)', async () => {
      const first = await gw.post('/flow_runs/', {
        flow_id: flowId,
        idempotency_key: 'nightly-1',
        state: { type: 'SCHEDULED' },
      });
      expectOperation(first, 'POST', '/flow_runs/', 201);
      const again = await gw.post('/flow_runs/', { flow_id: flowId, idempotency_key: 'nightly-1', tags: ['other'] });
      expectOperation(again, 'POST', '/flow_runs/', 200);
      expect(again.body).toMatchObject({
        id: first.body.id,
        tags: [],
        state_type: 'SCHEDULED',
        state_id: first.body.state_id,
      });

      const otherFlow = (await gw.post('/flows/', { name: 'other-flow' })).body.id;
      const elsewhere = await gw.post('/flow_runs/', { flow_id: otherFlow, idempotency_key: 'nightly-1' });
      expect(elsewhere.status).toBe(201);
      expect(elsewhere.body.id).not.toBe(first.body.id);
    });

    it('creates one run for concurrent creates with the same idempotency key', async () => {
      const responses = await Promise.all(
        Array.from({ length: 6 }, () => gw.post('/flow_runs/', { flow_id: flowId, idempotency_key: 'burst' })),
      );
      expect(new Set(responses.map((response) => response.body.id)).size).toBe(1);
      expect(responses.map((response) => response.status).sort()).toEqual([200, 200, 200, 200, 200, 201]);
      expect(await gw.db.repos.flowRunStates.historyOf(responses[0].body.id)).toHaveLength(1);
    });

    it("puts the run on the named queue of the named pool, or on the pool's default queue", async () => {
      const named = await gw.post('/flow_runs/', {
        flow_id: flowId,
        work_pool_name: 'process-pool',
        work_queue_name: 'critical',
      });
      expectOperation(named, 'POST', '/flow_runs/', 201);
      expect(named.body).toMatchObject({
        work_queue_id: pool.criticalQueueId,
        work_queue_name: 'critical',
        work_pool_id: pool.id,
        work_pool_name: 'process-pool',
      });
      const byDefault = await gw.post('/flow_runs/', { flow_id: flowId, work_pool_name: 'process-pool' });
      expect(byDefault.body).toMatchObject({
        work_queue_id: pool.defaultQueueId,
        work_queue_name: 'default',
        work_pool_name: 'process-pool',
      });
    });

    it("404s unknown pools and queues with Prefect's texts, and 409s an unknown flow, writing nothing", async () => {
      const before = await countRows();
      const noPool = await gw.post('/flow_runs/', { flow_id: flowId, work_pool_name: 'nope' });
      expect(noPool).toMatchObject({ status: 404, body: { detail: 'Work pool "nope" not found.' } });
      const noQueue = await gw.post('/flow_runs/', {
        flow_id: flowId,
        work_pool_name: 'process-pool',
        work_queue_name: 'nope',
      });
      expect(noQueue).toMatchObject({
        status: 404,
        body: { detail: "Work pool queue 'process-pool/nope' not found." },
      });
      const noFlow = await gw.post('/flow_runs/', { flow_id: randomUUID() });
      expect(noFlow).toMatchObject({
        status: 409,
        body: {
          detail:
            'Data integrity conflict. This usually means a unique or foreign key constraint was violated. See server logs for details.',
        },
      });
      expect(await countRows()).toBe(before);
    });

    it.each([
      ['no flow_id', () => ({}), ['body', 'flow_id'], 'missing'],
      ['a malformed flow_id', () => ({ flow_id: 'f' }), ['body', 'flow_id'], 'uuid_parsing'],
      ['an extra key', () => ({ flow_id: flowId, colour: 'red' }), ['body', 'colour'], 'extra_forbidden'],
      ['a bad state type', () => ({ flow_id: flowId, state: { type: 'DONE' } }), ['body', 'state', 'type'], 'enum'],
      [
        'an extra key in the state',
        () => ({ flow_id: flowId, state: { type: 'PENDING', colour: 'red' } }),
        ['body', 'state', 'colour'],
        'extra_forbidden',
      ],
      ['parameters that are a list', () => ({ flow_id: flowId, parameters: [1] }), ['body', 'parameters'], 'dict_type'],
      ['null parameters', () => ({ flow_id: flowId, parameters: null }), ['body', 'parameters'], 'dict_type'],
      [
        'labels with an object value',
        () => ({ flow_id: flowId, labels: { a: { b: 1 } } }),
        ['body', 'labels'],
        'value_error',
      ],
      [
        'a bad retry type',
        () => ({ flow_id: flowId, empirical_policy: { retry_type: 'later' } }),
        ['body', 'empirical_policy', 'retry_type'],
        'enum',
      ],
    ])('422 for %s, nothing written', async (_case, body, loc, type) => {
      const before = await countRows();
      const response = await gw.post('/flow_runs/', body());
      expect(response.status).toBe(422);
      expect(response.body).toMatchObject({ exception_message: 'Invalid request received.', request_body: body() });
      expect(response.body.exception_detail).toContainEqual(expect.objectContaining({ type, loc }));
      expect(await countRows()).toBe(before);
    });

    it("refuses parameters over Prefect's size limit", async () => {
      const response = await gw.post('/flow_runs/', { flow_id: flowId, parameters: { blob: 'x'.repeat(600_000) } });
      expect(response.status).toBe(422);
      expect(response.body.exception_detail[0]).toMatchObject({ type: 'value_error', loc: ['body', 'parameters'] });
      expect(response.body.exception_detail[0].msg).toMatch(
        /^Value error, Flow run parameters must be less than 524,288 bytes when serialized \(got 600,\d{3} bytes\)\.$/,
      );
    });
  });

  describe('GET, PATCH, DELETE /flow_runs/{id}', () => {
    it('reads a run, 404 for an unknown one or a malformed id', async () => {
      const created = (await gw.post('/flow_runs/', { flow_id: flowId, work_pool_name: 'process-pool' })).body;
      const read = await gw.get(`/flow_runs/${created.id}`);
      expectOperation(read, 'GET', '/flow_runs/{id}', 200);
      expect(read.body).toMatchObject({ id: created.id, state: created.state, work_pool_name: 'process-pool' });
      expect(await gw.get(`/flow_runs/${randomUUID()}`)).toMatchObject({
        status: 404,
        body: { detail: 'Flow run not found' },
      });
      expect(await gw.get('/flow_runs/abc')).toMatchObject({ status: 404, body: { detail: 'Not Found' } });
    });

    it('updates only the fields sent (204)', async () => {
      const created = (
        await gw.post('/flow_runs/', { flow_id: flowId, name: 'before', tags: ['a'], parameters: { p: 1 } })
      ).body;
      expect((await gw.patch(`/flow_runs/${created.id}`, { infrastructure_pid: '4242' })).status).toBe(204);
      expect(
        (await gw.patch(`/flow_runs/${created.id}`, { name: 'after', empirical_policy: { retries: 3 } })).status,
      ).toBe(204);
      const read = (await gw.get(`/flow_runs/${created.id}`)).body;
      expect(read).toMatchObject({
        name: 'after',
        tags: ['a'],
        parameters: { p: 1 },
        infrastructure_pid: '4242',
        empirical_policy: { retries: 3, retry_delay: null, max_retries: 0 },
      });
      expect((await gw.patch(`/flow_runs/${created.id}`, { name: null })).status).toBe(204);
      expect((await gw.get(`/flow_runs/${created.id}`)).body.name).toMatch(/^[a-z]+-[a-z]+$/);
      expect((await gw.patch(`/flow_runs/${created.id}`, {})).status).toBe(204);
    });

    it('changes job variables only on a SCHEDULED run of a deployment (400 otherwise)', async () => {
      const pending = (await gw.post('/flow_runs/', { flow_id: flowId })).body;
      const notScheduled = await gw.patch(`/flow_runs/${pending.id}`, { job_variables: { image: 'x' } });
      expect(notScheduled).toMatchObject({
        status: 400,
        body: { detail: 'Job variables for a flow run in state PENDING cannot be updated' },
      });
      const scheduled = (await gw.post('/flow_runs/', { flow_id: flowId, state: { type: 'SCHEDULED' } })).body;
      const noDeployment = await gw.patch(`/flow_runs/${scheduled.id}`, { job_variables: { image: 'x' } });
      expect(noDeployment).toMatchObject({
        status: 400,
        body: { detail: 'A deployment for the flow run could not be found' },
      });
      expect((await gw.get(`/flow_runs/${scheduled.id}`)).body.job_variables).toEqual({});
      expect(await gw.patch(`/flow_runs/${randomUUID()}`, { job_variables: {} })).toMatchObject({
        status: 404,
        body: { detail: 'Flow run not found' },
      });
    });

    it('refuses bad updates (422) and unknown runs (404)', async () => {
      const created = (await gw.post('/flow_runs/', { flow_id: flowId, name: 'kept' })).body;
      const extra = await gw.patch(`/flow_runs/${created.id}`, { name: 'x', state_type: 'RUNNING' });
      expect(extra.status).toBe(422);
      expect(extra.body.exception_detail).toContainEqual(
        expect.objectContaining({ type: 'extra_forbidden', loc: ['body', 'state_type'] }),
      );
      const tags = await gw.patch(`/flow_runs/${created.id}`, { tags: 'a' });
      expect(tags.body.exception_detail[0]).toMatchObject({ type: 'list_type', loc: ['body', 'tags'] });
      expect((await gw.get(`/flow_runs/${created.id}`)).body.name).toBe('kept');
      expect(await gw.patch(`/flow_runs/${randomUUID()}`, { name: 'x' })).toMatchObject({
        status: 404,
        body: { detail: 'Flow run not found' },
      });
    });

    it('deletes a run with its states', async () => {
      const created = (await gw.post('/flow_runs/', { flow_id: flowId })).body;
      expect((await gw.delete(`/flow_runs/${created.id}`)).status).toBe(204);
      expect((await gw.get(`/flow_runs/${created.id}`)).status).toBe(404);
      expect(await gw.db.repos.flowRunStates.historyOf(created.id)).toEqual([]);
      expect(await gw.delete(`/flow_runs/${created.id}`)).toMatchObject({
        status: 404,
        body: { detail: 'Flow run not found' },
      });
    });
  });

  describe('PATCH /flow_runs/{id}/labels', () => {
    it("merges the given labels over the run's (204)", async () => {
      const created = (await gw.post('/flow_runs/', { flow_id: flowId, labels: { keep: 'me', swap: 1 } })).body;
      const worker = { 'prefect.worker.name': 'w1', 'prefect.work-pool.id': pool.id, swap: 2 };
      expect((await gw.patch(`/flow_runs/${created.id}/labels`, worker)).status).toBe(204);
      expect((await gw.get(`/flow_runs/${created.id}`)).body.labels).toEqual({
        ...created.labels,
        keep: 'me',
        swap: 2,
        'prefect.worker.name': 'w1',
        'prefect.work-pool.id': pool.id,
      });
    });

    it('404 exception_message for an unknown run, 422 for a body that is not an object', async () => {
      const id = randomUUID();
      expect(await gw.patch(`/flow_runs/${id}/labels`, { a: 1 })).toMatchObject({
        status: 404,
        body: { exception_message: `Flow run with id ${id} not found` },
      });
      const created = (await gw.post('/flow_runs/', { flow_id: flowId })).body;
      const list = await gw.patch(`/flow_runs/${created.id}/labels`, ['a']);
      expect(list.status).toBe(422);
      expect(list.body.exception_detail[0]).toMatchObject({ type: 'dict_type', loc: ['body'] });
      expect((await gw.get(`/flow_runs/${created.id}`)).body.labels).toEqual(created.labels);
    });
  });

  describe('POST /flow_runs/filter and /flow_runs/count', () => {
    let flowName: string;
    let ids: Record<'scheduled' | 'pooled' | 'running', string>;

    beforeAll(async () => {
      flowName = 'filtered';
      const filtered = (await gw.post('/flows/', { name: flowName })).body.id;
      const create = async (body: Record<string, unknown>) =>
        (await gw.post('/flow_runs/', { flow_id: filtered, ...body })).body.id as string;
      ids = {
        scheduled: await create({
          name: 'f-scheduled',
          state: { type: 'SCHEDULED', state_details: { scheduled_time: '2030-01-01T00:00:00Z' } },
        }),
        pooled: await create({
          name: 'f-pooled',
          work_pool_name: 'process-pool',
          work_queue_name: 'critical',
          tags: ['x'],
        }),
        running: await create({ name: 'f-running', state: { type: 'RUNNING' } }),
      };
    });

    it('returns the runs the filters select, as FlowRunResponses in the requested order', async () => {
      const response = await gw.post('/flow_runs/filter', { flows: { name: { any_: [flowName] } }, sort: 'NAME_ASC' });
      expectOperation(response, 'POST', '/flow_runs/filter', 200);
      expect(response.body.map((run: { name: string }) => run.name)).toEqual(['f-pooled', 'f-running', 'f-scheduled']);
      const pooled = response.body.find((run: { id: string }) => run.id === ids.pooled);
      expect(pooled).toMatchObject({
        work_pool_name: 'process-pool',
        work_queue_name: 'critical',
        state: { type: 'PENDING' },
      });

      const byState = await gw.post('/flow_runs/filter', {
        flows: { name: { any_: [flowName] } },
        flow_runs: { state: { type: { any_: ['SCHEDULED', 'RUNNING'] } } },
        sort: 'NAME_DESC',
        limit: 1,
      });
      expect(byState.body.map((run: { id: string }) => run.id)).toEqual([ids.scheduled]);
      const byPool = await gw.post('/flow_runs/filter', {
        work_pools: { name: { any_: ['process-pool'] } },
        flow_runs: { tags: { all_: ['x'] } },
      });
      expect(byPool.body.map((run: { id: string }) => run.id)).toEqual([ids.pooled]);
    });

    it('counts the runs the filters select', async () => {
      const response = await gw.post('/flow_runs/count', { flows: { name: { any_: [flowName] } } });
      expectOperation(response, 'POST', '/flow_runs/count', 200);
      expect(response.body).toBe(3);
      expect((await gw.post('/flow_runs/count', { flow_runs: { id: { any_: [ids.running] } } })).body).toBe(1);
    });

    it('refuses bad filter bodies', async () => {
      const tooMany = await gw.post('/flow_runs/filter', { limit: 201 });
      expect(tooMany).toMatchObject({
        status: 422,
        body: { detail: 'Invalid limit: must be less than or equal to 200.' },
      });
      const sort = await gw.post('/flow_runs/filter', { sort: 'SIDEWAYS' });
      expect(sort.status).toBe(422);
      expect(sort.body.exception_detail[0]).toMatchObject({ type: 'enum', loc: ['body', 'sort'] });
      const unknownCriterion = await gw.post('/flow_runs/count', { flow_runs: { colour: { any_: ['red'] } } });
      expect(unknownCriterion.status).toBe(422);
      expect(unknownCriterion.body.exception_detail[0]).toMatchObject({
        type: 'extra_forbidden',
        loc: ['body', 'flow_runs', 'colour'],
      });
    });
  });

  describe('POST /deployments/{id}/create_flow_run', () => {
    let deploymentId: string;
    let poollessDeploymentId: string;

    beforeAll(async () => {
      const repos = gw.db.repos;
      deploymentId = (
        await repos.deployments.insert({
          name: 'nightly',
          flow_id: flowId,
          version: 'v7',
          parameters: { a: 1, b: 2 },
          parameter_openapi_schema: { type: 'object', properties: {} },
          tags: ['deploy', 'shared'],
          labels: { owner: 'ops' },
          work_queue_id: pool.defaultQueueId,
          work_queue_name: 'default',
          job_variables: { image: 'base' },
          infrastructure_document_id: '1d2c3b4a-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
        })
      ).id;
      poollessDeploymentId = (
        await repos.deployments.insert({ name: 'served', flow_id: flowId, parameter_openapi_schema: null })
      ).id;
    });

    it('creates a SCHEDULED run from the deployment, merged as Prefect merges it', async () => {
      const response = await gw.post(`/deployments/${deploymentId}/create_flow_run`, {
        parameters: { b: 3, c: 4 },
        tags: ['shared', 'run'],
        labels: { owner: 'me' },
        job_variables: { cpu: 2 },
      });
      expectOperation(response, 'POST', '/deployments/{id}/create_flow_run', 201);
      const run = response.body;
      expect(run).toMatchObject({
        flow_id: flowId,
        deployment_id: deploymentId,
        deployment_version: 'v7',
        parameters: { a: 1, b: 3, c: 4 },
        labels: { owner: 'me', 'prefect.flow.id': flowId, 'prefect.deployment.id': deploymentId },
        work_queue_id: pool.defaultQueueId,
        work_queue_name: 'default',
        work_pool_id: pool.id,
        work_pool_name: 'process-pool',
        job_variables: { cpu: 2 },
        infrastructure_document_id: '1d2c3b4a-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
        state_type: 'SCHEDULED',
        state_name: 'Scheduled',
        state: { type: 'SCHEDULED' },
      });
      expect([...run.tags].sort()).toEqual(['deploy', 'run', 'shared']);
      expect(run.next_scheduled_start_time).toBe(run.state.state_details.scheduled_time);
      expect(run.expected_start_time).toBe(run.state.state_details.scheduled_time);
      expect(Math.abs(Date.parse(run.next_scheduled_start_time) - Date.now())).toBeLessThan(5_000);
    });

    it('takes a given state, and an idempotency key returns the existing run', async () => {
      const body = {
        idempotency_key: 'deploy-key',
        state: { type: 'SCHEDULED', state_details: { scheduled_time: '2031-05-01T10:00:00Z' } },
      };
      const first = await gw.post(`/deployments/${deploymentId}/create_flow_run`, body);
      expect(first.status).toBe(201);
      expect(first.body.next_scheduled_start_time).toBe('2031-05-01T10:00:00.000Z');
      const again = await gw.post(`/deployments/${deploymentId}/create_flow_run`, body);
      expectOperation(again, 'POST', '/deployments/{id}/create_flow_run', 200);
      expect(again.body.id).toBe(first.body.id);
    });

    it("puts the run on another queue of the deployment's pool, creating it if needed", async () => {
      const existing = await gw.post(`/deployments/${deploymentId}/create_flow_run`, { work_queue_name: 'critical' });
      expect(existing.body).toMatchObject({
        work_queue_id: pool.criticalQueueId,
        work_queue_name: 'critical',
        work_pool_name: 'process-pool',
      });
      const created = await gw.post(`/deployments/${deploymentId}/create_flow_run`, { work_queue_name: 'adhoc' });
      expect(created.status).toBe(201);
      const queue = await gw.db.repos.workQueues.findInPool(pool.id, 'adhoc');
      expect(queue).toMatchObject({ priority: 3 });
      expect(created.body).toMatchObject({ work_queue_id: queue!.id, work_queue_name: 'adhoc', work_pool_id: pool.id });
    });

    it("answers Prefect's errors, writing nothing", async () => {
      const before = await countRows();
      const unknown = await gw.post(`/deployments/${randomUUID()}/create_flow_run`, {});
      expect(unknown).toMatchObject({ status: 404, body: { detail: 'Deployment not found' } });
      const noPool = await gw.post(`/deployments/${poollessDeploymentId}/create_flow_run`, {
        work_queue_name: 'q',
        enforce_parameter_schema: false,
      });
      expect(noPool).toMatchObject({
        status: 400,
        body: {
          detail: `Cannot create flow run in work queue q because deployment ${poollessDeploymentId} is not associated with a work pool. Please remove work_pool_name and try again.`,
        },
      });
      const noSchema = await gw.post(`/deployments/${poollessDeploymentId}/create_flow_run`, {});
      expect(noSchema).toMatchObject({
        status: 409,
        body: {
          detail:
            'Error updating deployment: Cannot update parameters because parameter schema enforcement is enabled and the deployment does not have a valid parameter schema.',
        },
      });
      const extra = await gw.post(`/deployments/${deploymentId}/create_flow_run`, { flow_id: flowId });
      expect(extra.status).toBe(422);
      expect(extra.body.exception_detail).toContainEqual(
        expect.objectContaining({ type: 'extra_forbidden', loc: ['body', 'flow_id'] }),
      );
      expect(await gw.post('/deployments/123/create_flow_run', {})).toMatchObject({
        status: 404,
        body: { detail: 'Not Found' },
      });
      expect(await countRows()).toBe(before);
    });

    it('creates a run of a deployment without a pool when the schema is not enforced', async () => {
      const response = await gw.post(`/deployments/${poollessDeploymentId}/create_flow_run`, {
        enforce_parameter_schema: false,
      });
      expect(response.status).toBe(201);
      expect(response.body).toMatchObject({
        work_queue_id: null,
        work_pool_id: null,
        deployment_id: poollessDeploymentId,
        job_variables: {},
      });
    });
  });
});
