import { randomUUID } from 'node:crypto';
import { expectOperation } from '../support/openapi';
import { TestGateway } from '../support/gateway';

describe('logs API', () => {
  let gw: TestGateway;
  const flowRunId = randomUUID();
  const otherRunId = randomUUID();
  const taskRunId = randomUUID();

  const line = (seconds: number, message: string, extra: Record<string, unknown> = {}) => ({
    name: 'prefect.flow_runs',
    level: 20,
    message,
    timestamp: `2026-05-01T12:00:${String(seconds).padStart(2, '0')}.000000+00:00`,
    flow_run_id: flowRunId,
    task_run_id: null,
    ...extra,
  });

  beforeAll(async () => {
    gw = await TestGateway.start();
    // What the client's APILogHandler sends: a batch of lines, out of order, from several runs and levels.
    const created = await gw.post('/logs/', [
      line(3, 'Finished in state Completed()'),
      line(1, 'Beginning flow run'),
      line(2, 'Connection timeout while fetching', { level: 40, name: 'prefect.task_runs', task_run_id: taskRunId }),
      line(2, 'debug chatter', { level: 10, flow_run_id: otherRunId }),
    ]);
    expectOperation(created, 'POST', '/logs/', 201);
    expect(created.body).toBeNull();
  });
  afterAll(() => gw.stop());

  async function filter(body: unknown): Promise<string[]> {
    const response = await gw.post('/logs/filter', body);
    expectOperation(response, 'POST', '/logs/filter', 200);
    return (response.body as { message: string }[]).map((log) => log.message);
  }

  it("reads a run's logs back in time order, as stored", async () => {
    const response = await gw.post('/logs/filter', { logs: { flow_run_id: { any_: [flowRunId] } } });
    expectOperation(response, 'POST', '/logs/filter', 200);
    expect(response.body).toEqual([
      expect.objectContaining({
        message: 'Beginning flow run',
        level: 20,
        timestamp: '2026-05-01T12:00:01.000Z',
        flow_run_id: flowRunId,
        task_run_id: null,
      }),
      expect.objectContaining({
        message: 'Connection timeout while fetching',
        level: 40,
        name: 'prefect.task_runs',
        task_run_id: taskRunId,
      }),
      expect.objectContaining({ message: 'Finished in state Completed()' }),
    ]);
  });

  it('sorts descending, pages, and filters by level, time and task run', async () => {
    expect(
      await filter({ sort: 'TIMESTAMP_DESC', limit: 2, offset: 0, logs: { flow_run_id: { any_: [flowRunId] } } }),
    ).toEqual(['Finished in state Completed()', 'Connection timeout while fetching']);
    expect(await filter({ logs: { level: { ge_: 20, le_: 30 } } })).toEqual([
      'Beginning flow run',
      'Finished in state Completed()',
    ]);
    expect(
      await filter({
        logs: { timestamp: { after_: '2026-05-01T12:00:02Z', before_: '2026-05-01T12:00:02Z' } },
        sort: null,
      }),
    ).toHaveLength(2);
    expect(await filter({ logs: { task_run_id: { any_: [taskRunId] } } })).toEqual([
      'Connection timeout while fetching',
    ]);
    expect(await filter({ logs: { task_run_id: { is_null_: false } } })).toEqual(['Connection timeout while fetching']);
    expect(await filter({ logs: { flow_run_id: { any_: [] } } })).toEqual([]);
    const either = await filter({ logs: { operator: 'or_', level: { ge_: 40 }, flow_run_id: { any_: [otherRunId] } } });
    expect(either.sort()).toEqual(['Connection timeout while fetching', 'debug chatter']);
  });

  it('searches text as Prefect does: terms are alternatives, -term excludes, quotes make a phrase, over message and logger name', async () => {
    expect(await filter({ logs: { text: { query: 'TIMEOUT completed' } } })).toEqual([
      'Connection timeout while fetching',
      'Finished in state Completed()',
    ]);
    expect(await filter({ logs: { text: { query: 'flow_runs -beginning -chatter' } } })).toEqual([
      'Finished in state Completed()',
    ]);
    expect(await filter({ logs: { text: { query: '"flow run"' } } })).toEqual(['Beginning flow run']);
    expect(await filter({ logs: { text: { query: '100%' } } })).toEqual([]);
  });

  it('answers an empty batch with 201 and an empty filter with every log', async () => {
    expectOperation(await gw.post('/logs/', []), 'POST', '/logs/', 201);
    expect(await filter({})).toHaveLength(4);
  });

  describe('bad input', () => {
    it.each([
      ['a body that is not a list', { name: 'x' }, 'list_type', ['body']],
      [
        'a line without a message',
        [{ name: 'x', level: 20, timestamp: '2026-05-01T12:00:00Z' }],
        'missing',
        ['body', 0, 'message'],
      ],
      ['an unknown field', [{ ...line(1, 'x'), extra: 1 }], 'extra_forbidden', ['body', 0, 'extra']],
      ['a bad run id', [line(1, 'x', { flow_run_id: 'nope' })], 'uuid_parsing', ['body', 0, 'flow_run_id']],
    ])('422 for %s, storing nothing', async (_case, body, type, loc) => {
      const response = await gw.post('/logs/', body);
      expect(response.status).toBe(422);
      expect(response.body.exception_detail).toEqual([expect.objectContaining({ type, loc })]);
      expect(await filter({})).toHaveLength(4);
    });

    it('422 for a filter field Prefect does not know, a bad sort, and a too-long text query', async () => {
      expect((await gw.post('/logs/filter', { logs: { nope: {} } })).status).toBe(422);
      expect((await gw.post('/logs/filter', { sort: 'LEVEL_ASC' })).status).toBe(422);
      const long = await gw.post('/logs/filter', { logs: { text: { query: 'x'.repeat(201) } } });
      expect(long.status).toBe(422);
      expect(long.body.exception_detail).toEqual([
        expect.objectContaining({ type: 'string_too_long', loc: ['body', 'logs', 'text', 'query'] }),
      ]);
    });
  });
});
