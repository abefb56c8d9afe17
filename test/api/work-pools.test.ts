import { expectOperation } from '../support/openapi';
import { TestGateway } from '../support/gateway';

// Prefect's own fixture list (tests/server/orchestration/api/test_workers.py).
const RESERVED_POOL_NAMES = [
  'Prefect',
  'Prefect Pool',
  'PrefectPool',
  'Prefect-Pool',
  'prefect',
  'prefect pool',
  'prefectpool',
  'prefect-pool',
];

const UNDECLARED =
  'The variables specified in the job configuration template must be present as properties in the variables schema. ' +
  'Your job configuration uses the following undeclared variable(s): ';

const template = (jobConfiguration: Record<string, unknown>) => ({
  job_configuration: jobConfiguration,
  variables: {
    properties: { command: { type: 'array', title: 'Command', items: { type: 'string' }, default: ['echo', 'hello'] } },
    required: [],
  },
});

describe('work pools API', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await TestGateway.start();
  });
  afterAll(() => gw.stop());

  const pool = (name: string) => gw.db.repos.workPools.findByName(name);
  const poolCount = async () => (await gw.post('/work_pools/count')).body as number;
  const encoded = (name: string) => `/work_pools/${encodeURIComponent(name)}`;

  async function createPool(body: Record<string, unknown>) {
    const response = await gw.post('/work_pools/', body);
    expectOperation(response, 'POST', '/work_pools/', 201);
    return response.body;
  }

  async function addRun(workQueueId: string, stateType: string) {
    const flow =
      (await gw.db.repos.flows.findByName('slot-flow')) ?? (await gw.db.repos.flows.insert({ name: 'slot-flow' }));
    await gw.db.repos.flowRuns.insert({
      name: `run-${stateType}-${Math.random()}`,
      flow_id: flow.id,
      work_queue_id: workQueueId,
      state_type: stateType as 'RUNNING',
    });
  }

  describe('POST /work_pools/', () => {
    it('creates the pool with its default queue, NOT_READY, and Prefect defaults', async () => {
      const created = await createPool({ name: 'Pool 1', type: 'test' });
      expect(created).toMatchObject({
        name: 'Pool 1',
        type: 'test',
        description: null,
        is_paused: false,
        concurrency_limit: null,
        base_job_template: {},
        status: 'NOT_READY',
        storage_configuration: {
          bundle_upload_step: null,
          bundle_execution_step: null,
          default_result_storage_block_id: null,
        },
        active_slots: null,
      });
      expect(created.created).toMatch(/Z$/);

      const queue = await gw.get(`${encoded('Pool 1')}/queues/default`);
      expect(queue.body).toMatchObject({
        id: created.default_queue_id,
        priority: 1,
        description: "The work pool's default queue.",
      });

      // Creation sets a status but, as in Prefect, stamps no transition on the row.
      const row = await pool('Pool 1');
      expect(row).toMatchObject({ status: 'NOT_READY', last_status_event_id: null, last_transitioned_status_at: null });
    });

    it('defaults the type to prefect-agent, whose status is reported as null', async () => {
      const created = await createPool({ name: 'agent-pool', is_paused: true });
      expect(created).toMatchObject({ type: 'prefect-agent', status: null, is_paused: true });
      expect((await pool('agent-pool'))?.status).toBe('NOT_READY');
    });

    it('stores a paused pool as PAUSED and reports active_slots 0 when a limit is set', async () => {
      const created = await createPool({ name: 'paused-pool', type: 'process', is_paused: true, concurrency_limit: 5 });
      expect(created).toMatchObject({ status: 'PAUSED', is_paused: true, concurrency_limit: 5, active_slots: 0 });
    });

    it.each(['PROCESS', 'K8S', 'AGENT'])('accepts any type string (%s)', async (type) => {
      expect((await createPool({ name: `typed-${type}`, type })).type).toBe(type);
    });

    it('accepts a base job template whose placeholders are declared', async () => {
      const baseJobTemplate = template({ command: '{{ command }}' });
      expect(
        (await createPool({ name: 'templated', type: 'test', base_job_template: baseJobTemplate })).base_job_template,
      ).toEqual(baseJobTemplate);
    });

    it('echoes a storage configuration, leaving the block id out for clients up to 3.3.7', async () => {
      const storage = {
        bundle_upload_step: { 'prefect_aws.experimental.bundles.upload': { requires: 'prefect-aws', bucket: 'B' } },
        bundle_execution_step: { 'prefect_aws.experimental.bundles.execute': { requires: 'prefect-aws', bucket: 'B' } },
        default_result_storage_block_id: '0d6c2f36-5f70-4b2f-9d6b-0b4c58a0a1f7',
      };
      expect(
        (await createPool({ name: 'olympic', type: 'kubernetes', storage_configuration: storage }))
          .storage_configuration,
      ).toEqual(storage);

      const old = await gw.request(
        'POST',
        '/work_pools/',
        { name: 'old-client', type: 'kubernetes' },
        { 'user-agent': 'prefect/3.3.7 (API 0.8.4)' },
      );
      expectOperation(old, 'POST', '/work_pools/', 201);
      expect(old.body.storage_configuration).toEqual({ bundle_upload_step: null, bundle_execution_step: null });
      const read = await gw.request('GET', '/work_pools/olympic', undefined, {
        'user-agent': 'prefect/3.3.7 (API 0.8.4)',
      });
      expect(read.body.storage_configuration).not.toHaveProperty('default_result_storage_block_id');
    });

    it('409 with Prefect text for a duplicate name, writing nothing', async () => {
      await createPool({ name: 'dup', type: 'process' });
      const before = await poolCount();
      const response = await gw.post('/work_pools/', { name: 'dup', type: 'PROCESS' });
      expect(response).toMatchObject({ status: 409, body: { detail: 'A work pool with this name already exists.' } });
      expect(await poolCount()).toBe(before);
    });

    it.each(RESERVED_POOL_NAMES)('403 for the reserved name %j, writing nothing', async (name) => {
      const response = await gw.post('/work_pools/', { name });
      expect(response).toMatchObject({
        status: 403,
        body: { detail: "Work pools starting with 'Prefect' are reserved for internal use." },
      });
      expect(await pool(name)).toBeNull();
    });
  });

  describe('POST /work_pools/ bad input', () => {
    it.each(['', 'hi/there', 'hi%there'])('422 for the name %j', async (name) => {
      const response = await gw.post('/work_pools/', { name });
      expect(response.status).toBe(422);
      expect(response.body.exception_detail[0].loc).toEqual(['body', 'name']);
    });

    it.each(["''", ' ', "' ' "])('422 "name cannot be an empty string" for %j', async (name) => {
      const response = await gw.post('/work_pools/', { name });
      expect(response.status).toBe(422);
      expect(response.text).toContain('name cannot be an empty string');
    });

    it('422 for a template missing its sections', async () => {
      const response = await gw.post('/work_pools/', { name: 'Pool T1', base_job_template: { foo: 'bar', x: ['y'] } });
      expect(response.status).toBe(422);
      expect(response.body.exception_detail[0]).toMatchObject({
        type: 'value_error',
        loc: ['body', 'base_job_template'],
        msg: 'Value error, The `base_job_template` must contain both a `job_configuration` key and a `variables` key.',
      });
      expect(response.body.request_body).toEqual({ name: 'Pool T1', base_job_template: { foo: 'bar', x: ['y'] } });
    });

    it.each([
      ['top-level', { command: '{{ other_variable }}' }, 'other_variable'],
      ['nested', { config: { command: '{{ missing_variable }}' } }, 'missing_variable'],
    ])('422 naming an undeclared %s placeholder', async (_case, jobConfiguration, name) => {
      const response = await gw.post('/work_pools/', {
        name: 'Pool T2',
        base_job_template: template(jobConfiguration),
      });
      expect(response.status).toBe(422);
      expect(response.body.exception_detail[0].msg).toContain(`${UNDECLARED}${name}.`);
    });

    it.each([
      ['unknown key', { name: 'x1', color: 'red' }, 'extra_forbidden'],
      ['unknown storage key', { name: 'x2', storage_configuration: { invalid_key: 'v' } }, 'extra_forbidden'],
      ['negative limit', { name: 'x3', concurrency_limit: -1 }, 'greater_than_equal'],
      ['fractional limit', { name: 'x4', concurrency_limit: 1.5 }, 'int_from_float'],
      ['type not a string', { name: 'x5', type: 3 }, 'string_type'],
      ['template not an object', { name: 'x6', base_job_template: [] }, 'dict_type'],
      ['is_paused null', { name: 'x7', is_paused: null }, 'bool_type'],
      ['storage configuration a list', { name: 'x8', storage_configuration: [] }, 'model_type'],
      ['storage configuration a string', { name: 'x10', storage_configuration: 'none' }, 'model_type'],
      [
        'block id not a uuid',
        { name: 'x9', storage_configuration: { default_result_storage_block_id: 'nope' } },
        'uuid_parsing',
      ],
      ['missing name', { type: 'process' }, 'missing'],
    ])('422 for %s', async (_case, body, type) => {
      const response = await gw.post('/work_pools/', body);
      expect(response.status).toBe(422);
      expect(response.body.exception_detail.map((d: { type: string }) => d.type)).toContain(type);
    });

    it('wrote nothing for any rejected create', async () => {
      for (const name of [
        '',
        'hi/there',
        "''",
        'Pool T1',
        'Pool T2',
        'x1',
        'x2',
        'x3',
        'x4',
        'x5',
        'x6',
        'x7',
        'x8',
        'x9',
        'x10',
      ]) {
        expect(await pool(name)).toBeNull();
      }
    });
  });

  describe('GET /work_pools/{name}', () => {
    it('reads a pool by name (spaces included)', async () => {
      const created = await createPool({ name: 'read me', type: 'test' });
      const response = await gw.get(encoded('read me'));
      expectOperation(response, 'GET', '/work_pools/{name}', 200);
      expect(response.body).toEqual(created);
    });

    it('404 with Prefect text for an unknown pool', async () => {
      expect(await gw.get('/work_pools/does-not-exist')).toMatchObject({
        status: 404,
        body: { detail: 'Work pool "does-not-exist" not found.' },
      });
    });

    it('counts PENDING and RUNNING runs of its queues as active slots, only when a limit is set', async () => {
      const limited = await createPool({ name: 'slots', type: 'test', concurrency_limit: 10 });
      const unlimited = await createPool({ name: 'no-slots', type: 'test' });
      const extra = (await gw.post('/work_pools/slots/queues', { name: 'q1' })).body;
      for (const state of ['RUNNING', 'PENDING', 'CANCELLING', 'COMPLETED', 'SCHEDULED']) await addRun(extra.id, state);
      await addRun(limited.default_queue_id, 'RUNNING');
      await addRun(unlimited.default_queue_id, 'RUNNING');

      const read = await gw.get('/work_pools/slots');
      expectOperation(read, 'GET', '/work_pools/{name}', 200);
      expect(read.body.active_slots).toBe(3);
      expect((await gw.get('/work_pools/no-slots')).body.active_slots).toBeNull();

      const filtered = await gw.post('/work_pools/filter', { work_pools: { name: { any_: ['slots', 'no-slots'] } } });
      expect(filtered.body.map((p: { name: string; active_slots: number | null }) => [p.name, p.active_slots])).toEqual(
        [
          ['no-slots', null],
          ['slots', 3],
        ],
      );
    });
  });

  describe('POST /work_pools/filter and /count', () => {
    let gwf: TestGateway;
    beforeAll(async () => {
      gwf = await TestGateway.start();
      for (const name of ['C', 'B', 'A']) {
        await gwf.post('/work_pools/', { name, type: name === 'B' ? 'docker' : 'test' });
      }
    });
    afterAll(() => gwf.stop());
    const names = (response: { body: { name: string }[] }) => response.body.map((p) => p.name);

    it('lists pools by name, with offset and limit', async () => {
      const all = await gwf.post('/work_pools/filter');
      expectOperation(all, 'POST', '/work_pools/filter', 200);
      expect(names(all)).toEqual(['A', 'B', 'C']);
      expect(names(await gwf.post('/work_pools/filter', { limit: 2 }))).toEqual(['A', 'B']);
      expect(names(await gwf.post('/work_pools/filter', { offset: 1 }))).toEqual(['B', 'C']);
      expect(names(await gwf.post('/work_pools/filter', { limit: 0 }))).toEqual([]);
      expect(names(await gwf.post('/work_pools/filter', { work_pools: null, offset: null, limit: null }))).toEqual([
        'A',
        'B',
        'C',
      ]);
    });

    it('filters by id, name and type, combined with and_ or or_', async () => {
      const a = (await gwf.get('/work_pools/A')).body;
      expect(names(await gwf.post('/work_pools/filter', { work_pools: { id: { any_: [a.id] } } }))).toEqual(['A']);
      expect(names(await gwf.post('/work_pools/filter', { work_pools: { name: { any_: ['C', 'nope'] } } }))).toEqual([
        'C',
      ]);
      expect(names(await gwf.post('/work_pools/filter', { work_pools: { type: { any_: ['docker'] } } }))).toEqual([
        'B',
      ]);
      expect(names(await gwf.post('/work_pools/filter', { work_pools: { name: { any_: [] } } }))).toEqual([]);
      const both = { name: { any_: ['A'] }, type: { any_: ['docker'] } };
      expect(names(await gwf.post('/work_pools/filter', { work_pools: both }))).toEqual([]);
      expect(names(await gwf.post('/work_pools/filter', { work_pools: { ...both, operator: 'or_' } }))).toEqual([
        'A',
        'B',
      ]);
    });

    it('counts pools, applying the filter', async () => {
      const all = await gwf.post('/work_pools/count');
      expectOperation(all, 'POST', '/work_pools/count', 200);
      expect(all.body).toBe(3);
      expect((await gwf.post('/work_pools/count', { work_pools: { name: { any_: ['A'] } } })).body).toBe(1);
    });

    it('422 for a limit above the default or below zero, and for a negative offset', async () => {
      expect(await gwf.post('/work_pools/filter', { limit: 201 })).toMatchObject({
        status: 422,
        body: { detail: 'Invalid limit: must be less than or equal to 200.' },
      });
      expect(await gwf.post('/work_pools/filter', { limit: -1 })).toMatchObject({
        status: 422,
        body: { detail: 'Invalid limit: must be greater than or equal to 0.' },
      });
      const offset = await gwf.post('/work_pools/filter', { offset: -1 });
      expect(offset.status).toBe(422);
      expect(offset.body.exception_detail[0].loc).toEqual(['body', 'offset']);
    });

    it.each([
      [{ work_pools: { color: 'red' } }, 'extra_forbidden'],
      [{ work_pools: { id: { any_: ['not-a-uuid'] } } }, 'uuid_parsing'],
      [{ work_pools: { operator: 'xor' } }, 'enum'],
      [{ work_pools: 'A' }, 'model_type'],
    ])('422 for the filter %j', async (body, type) => {
      const response = await gwf.post('/work_pools/count', body);
      expect(response.status).toBe(422);
      expect(response.body.exception_detail.map((d: { type: string }) => d.type)).toContain(type);
    });
  });

  describe('PATCH /work_pools/{name}', () => {
    it('updates the given fields only', async () => {
      await createPool({ name: 'upd', type: 'test', description: 'before' });
      const response = await gw.patch('/work_pools/upd', { is_paused: true, concurrency_limit: 5 });
      expectOperation(response, 'PATCH', '/work_pools/{name}', 204);
      expect(response.text).toBe('');
      expect(await pool('upd')).toMatchObject({ is_paused: true, concurrency_limit: 5, description: 'before' });

      expectOperation(await gw.patch('/work_pools/upd', { concurrency_limit: 0 }), 'PATCH', '/work_pools/{name}', 204);
      expect((await pool('upd'))?.concurrency_limit).toBe(0);
      expectOperation(await gw.patch('/work_pools/upd', {}), 'PATCH', '/work_pools/{name}', 204);
      expect(await pool('upd')).toMatchObject({ is_paused: true, concurrency_limit: 0, description: 'before' });
    });

    it('pausing writes PAUSED with a fresh status event id; unpausing without workers writes NOT_READY', async () => {
      await createPool({ name: 'pause-me', type: 'test' });
      await gw.patch('/work_pools/pause-me', { is_paused: true });
      const paused = (await pool('pause-me'))!;
      expect(paused.status).toBe('PAUSED');
      expect(paused.last_status_event_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(paused.last_transitioned_status_at).toBeInstanceOf(Date);
      expect((await gw.get('/work_pools/pause-me')).body).toMatchObject({ is_paused: true, status: 'PAUSED' });

      await gw.patch('/work_pools/pause-me', { is_paused: false });
      const unpaused = (await pool('pause-me'))!;
      expect(unpaused.status).toBe('NOT_READY');
      expect(unpaused.last_status_event_id).not.toBe(paused.last_status_event_id);

      // A change that does not touch is_paused leaves the status and its stamp alone.
      await gw.patch('/work_pools/pause-me', { description: 'x' });
      expect((await pool('pause-me'))?.last_status_event_id).toBe(unpaused.last_status_event_id);
    });

    it('unpausing a pool with an ONLINE worker makes it READY', async () => {
      await createPool({ name: 'online', type: 'test' });
      await gw.post('/work_pools/online/workers/heartbeat', { name: 'test-worker' });
      expect((await gw.get('/work_pools/online')).body.status).toBe('READY');
      await gw.patch('/work_pools/online', { is_paused: true });
      expect((await gw.get('/work_pools/online')).body.status).toBe('PAUSED');
      await gw.patch('/work_pools/online', { is_paused: false });
      expect((await gw.get('/work_pools/online')).body).toMatchObject({ is_paused: false, status: 'READY' });
    });

    it('pausing an agent pool changes is_paused but no status', async () => {
      await createPool({ name: 'agent-2' });
      await gw.patch('/work_pools/agent-2', { is_paused: true });
      expect(await pool('agent-2')).toMatchObject({ is_paused: true, status: 'NOT_READY', last_status_event_id: null });
    });

    it('replaces, clears and keeps the storage configuration', async () => {
      const step = { 'prefect_aws.experimental.bundles.upload': { bucket: 'B' } };
      await createPool({ name: 'storage', type: 'kubernetes', storage_configuration: { bundle_upload_step: step } });
      await gw.patch('/work_pools/storage', { description: 'literally the newest' });
      expect((await gw.get('/work_pools/storage')).body.storage_configuration.bundle_upload_step).toEqual(step);
      await gw.patch('/work_pools/storage', { storage_configuration: {} });
      expect((await gw.get('/work_pools/storage')).body.storage_configuration).toEqual({
        bundle_upload_step: null,
        bundle_execution_step: null,
        default_result_storage_block_id: null,
      });
    });

    it('validates a new base job template as on create', async () => {
      await createPool({ name: 'tmpl', type: 'process' });
      const valid = template({ command: '{{ command }}' });
      expectOperation(
        await gw.patch('/work_pools/tmpl', { base_job_template: valid }),
        'PATCH',
        '/work_pools/{name}',
        204,
      );
      expect((await pool('tmpl'))?.base_job_template).toEqual(valid);

      const missing = await gw.patch('/work_pools/tmpl', { base_job_template: { foo: 'bar', x: ['y'] } });
      expect(missing.status).toBe(422);
      expect(missing.body.exception_detail[0].msg).toContain(
        'The `base_job_template` must contain both a `job_configuration` key and a `variables` key.',
      );
      const undeclared = await gw.patch('/work_pools/tmpl', {
        base_job_template: template({ config: { command: '{{ missing_variable }}' } }),
      });
      expect(undeclared.body.exception_detail[0].msg).toContain(`${UNDECLARED}missing_variable.`);
      expect((await pool('tmpl'))?.base_job_template).toEqual(valid);
    });

    it.each(RESERVED_POOL_NAMES.slice(0, 3))('a reserved pool (%s) may only be paused or limited', async (name) => {
      await gw.db.repos.workPools.insert({ name, type: 'prefect-agent' });
      const refused = await gw.patch(encoded(name), { description: name, is_paused: true, concurrency_limit: 5 });
      expect(refused).toMatchObject({
        status: 403,
        body: {
          detail:
            "Work pools starting with 'Prefect' are reserved for internal use and can only be updated to set concurrency limits or pause.",
        },
      });
      expect(await pool(name)).toMatchObject({ description: null, is_paused: false });
      expectOperation(
        await gw.patch(encoded(name), { is_paused: true, concurrency_limit: 5 }),
        'PATCH',
        '/work_pools/{name}',
        204,
      );
      expect(await pool(name)).toMatchObject({ is_paused: true, concurrency_limit: 5 });
    });

    it('404 for an unknown pool', async () => {
      expect(await gw.patch('/work_pools/nope', { description: 'x' })).toMatchObject({
        status: 404,
        body: { detail: 'Work pool "nope" not found.' },
      });
    });

    it.each([
      ['negative concurrency', { concurrency_limit: -5 }, 422],
      ['unknown key', { name: 'renamed' }, 422],
      ['description not a string', { description: 5 }, 422],
      ['is_paused not a boolean', { is_paused: 'maybe' }, 422],
      ['null is_paused (a NOT NULL column)', { is_paused: null }, 409],
      ['null template (a NOT NULL column)', { base_job_template: null }, 409],
    ])('%s is refused and nothing changes', async (_case, body, status) => {
      if (!(await pool('strict'))) await createPool({ name: 'strict', type: 'test' });
      const before = await pool('strict');
      const response = await gw.patch('/work_pools/strict', body);
      expect(response.status).toBe(status);
      if (status === 409) expect(response.body.detail).toMatch(/^Data integrity conflict\. This usually means/);
      expect(await pool('strict')).toEqual(before);
    });
  });

  describe('DELETE /work_pools/{name}', () => {
    it('deletes the pool with its queues and workers', async () => {
      const created = await createPool({ name: 'doomed', type: 'test' });
      await gw.post('/work_pools/doomed/workers/heartbeat', { name: 'w' });
      const response = await gw.delete('/work_pools/doomed');
      expectOperation(response, 'DELETE', '/work_pools/{name}', 204);
      expect(await pool('doomed')).toBeNull();
      expect(await gw.db.repos.workQueues.findById(created.default_queue_id)).toBeNull();
      expect(await gw.db.repos.workers.find(created.id, null, 0, 10)).toEqual([]);
      expect(await gw.delete('/work_pools/doomed')).toMatchObject({
        status: 404,
        body: { detail: 'Work pool "doomed" not found.' },
      });
    });

    it.each(RESERVED_POOL_NAMES.slice(4))('403 for the reserved pool %j, which stays', async (name) => {
      await gw.db.repos.workPools.insert({ name, type: 'prefect-agent' });
      expect(await gw.delete(encoded(name))).toMatchObject({
        status: 403,
        body: { detail: "Work pools starting with 'Prefect' are reserved for internal use and can not be deleted." },
      });
      expect(await pool(name)).not.toBeNull();
    });
  });
});
