// Proves compatibility with the real thing: Prefect's own CLI and Python client (pinned version, installed into
// a cached virtualenv) talk to our gateway over real HTTP. A recording proxy in between keeps every exchange,
// so a failure names the request the client sent and the answer it got.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startLiveGateway, type LiveGateway } from './live-gateway';
import { prefectEnv, runToEnd } from './prefect-process';
import { ensurePrefectVenv, venvBin } from '../../bench/prefect-venv';
import { RecordingProxy } from './recording-proxy';

const SETUP_TIMEOUT_MS = 15 * 60_000;
const CLI_TIMEOUT_MS = 90_000;
const RUN_LOG = path.resolve(__dirname, '../../.cache/prefect-client-last-run.json');

interface Outcome {
  code: number | null;
  output: string;
}

interface StepResult {
  ok: boolean;
  value?: any;
  error?: string;
  traceback?: string;
  skipped?: string;
}

describe('the real Prefect client against the gateway', () => {
  let live: LiveGateway;
  let proxy: RecordingProxy;
  let home: string;
  const commands: (Outcome & { args: string[] })[] = [];
  /** The Python client scenario's results by step (filled by the Python client block's setup). */
  let steps: Record<string, StepResult> = {};

  const run = (command: string, args: string[], timeoutMs: number) =>
    runToEnd(command, args, { env: prefectEnv(home, proxy.apiUrl), timeoutMs });

  /**
   * Runs one `prefect ...` command and checks its output; a non-zero exit or a failed check fails the test with
   * the command's output and the HTTP exchanges it made.
   */
  async function prefect(args: string[], check: (output: string) => unknown = () => undefined): Promise<void> {
    const mark = proxy.exchanges.length;
    const { code, output } = await run(venvBin('prefect'), args, CLI_TIMEOUT_MS);
    commands.push({ args, code, output });
    try {
      expect(code).toBe(0);
      await check(output);
    } catch (error) {
      const context = `--- prefect ${args.join(' ')} (exit ${code}) ---\n${output.slice(-6000)}\n--- exchanges ---\n${proxy.describeSince(mark)}`;
      throw new Error(`${(error as Error).message}\n${context}`, { cause: error });
    }
  }

  beforeAll(async () => {
    await ensurePrefectVenv();
    live = await startLiveGateway();
    proxy = await RecordingProxy.start(live.port);
    home = mkdtempSync(path.join(tmpdir(), 'prefect-home-'));
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    if (proxy) {
      writeFileSync(RUN_LOG, JSON.stringify({ steps, commands, exchanges: proxy.exchanges }, null, 2));
      await proxy.stop();
    }
    if (live) await live.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  /** The step's value; a failed step fails the test with the client's own error, request and response. */
  function value(name: string): any {
    const result = steps[name];
    if (!result) throw new Error(`step ${name} did not run`);
    if (!result.ok) {
      const detail =
        result.skipped ?? `${result.error}\n${result.traceback}\n--- exchanges ---\n${proxy.describeStep(name)}`;
      throw new Error(`step ${name} failed: ${detail}`);
    }
    return result.value;
  }

  describe('Python client (prefect.client.orchestration.get_client)', () => {
    beforeAll(async () => {
      const summaryPath = path.join(home, 'client-summary.json');
      const { code, output } = await run(
        venvBin('python'),
        [path.join(__dirname, 'client_scenario.py'), summaryPath],
        5 * 60_000,
      );
      if (code !== 0) throw new Error(`client_scenario.py exited ${code}:\n${output.slice(-6000)}`);
      steps = JSON.parse(readFileSync(summaryPath, 'utf8'));
    }, 6 * 60_000);

    it('reaches the API and reads its version', () => {
      expect(value('server')).toEqual({ api_version: expect.stringMatching(/^3\./) });
    });

    it('creates and reads a flow by id and by name', () => {
      expect(value('flow')).toEqual({ name: 'pc-flow', same_by_name: true });
    });

    it('finds the flow by a name filter', () => {
      expect(value('flows_filter')).toEqual({ names: ['pc-flow'] });
    });

    it('creates a process work pool with its base job template and a default queue', () => {
      expect(value('work_pool_create')).toEqual({
        name: 'pc-pool',
        type: 'process',
        status: 'NOT_READY',
        has_default_queue: true,
        template_keys: ['job_configuration', 'variables'],
      });
    });

    it('gets ObjectAlreadyExists for a duplicate work pool', () => {
      expect(value('work_pool_duplicate')).toEqual({ raised: 'ObjectAlreadyExists' });
    });

    it('reads work pools by name and by filter; a missing one is ObjectNotFound', () => {
      expect(value('work_pool_read')).toEqual({
        name: 'pc-pool',
        filtered_names: ['pc-pool'],
        missing_raises: 'ObjectNotFound',
      });
    });

    it('updates a work pool', () => {
      expect(value('work_pool_update')).toEqual({ description: 'updated', concurrency_limit: 5 });
    });

    it('creates a work queue in the pool with priority and limit', () => {
      expect(value('work_queue_create')).toEqual({
        name: 'pc-queue',
        priority: 2,
        concurrency_limit: 3,
        work_pool_name: 'pc-pool',
        in_pool: true,
      });
    });

    it('reads work queues by name, all of the pool, and by filter', () => {
      expect(value('work_queue_read')).toEqual({
        same_by_name: true,
        names: ['default', 'pc-queue'],
        filtered_names: ['pc-queue'],
      });
    });

    it('creates a deployment with a work pool, queue and interval schedule', () => {
      expect(value('deployment_create')).toEqual({ created: true });
    });

    it('reads the deployment by id, by name, by filters, and its schedules', () => {
      expect(value('deployment_read')).toEqual({
        name: 'pc-deployment',
        work_pool_name: 'pc-pool',
        work_queue_name: 'pc-queue',
        parameters: { x: 1 },
        tags: ['pc'],
        same_by_name: true,
        filtered_by_id: [true],
        filtered_by_pool: ['pc-deployment'],
        schedule_intervals: [3600],
      });
    });

    it('pauses and resumes the deployment', () => {
      expect(value('deployment_pause_resume')).toEqual({ paused_after_pause: true, paused_after_resume: false });
    });

    it('updates the deployment', () => {
      expect(value('deployment_update')).toEqual({ description: 'updated', parameters: { x: 5 } });
    });

    it('adds, deactivates and deletes a deployment schedule', () => {
      expect(value('deployment_schedules')).toEqual({
        created_cron: ['0 6 * * *'],
        active_after_update: [false, true],
        count_after_delete: 1,
      });
    });

    it('deploys a flow from source onto the process pool (flow.from_source(...).deploy(...))', () => {
      expect(value('flow_deploy')).toEqual({
        name: 'pc-sourced-deployment',
        work_pool_name: 'pc-pool',
        work_queue_name: 'default',
        entrypoint: 'flows.py:etl',
        parameters: { n: 3 },
        has_parameter_schema: true,
        has_pull_steps: true,
        schedule_count: 1,
      });
    });

    it('creates a scheduled flow run from the deployment', () => {
      expect(value('flow_run_create')).toEqual({
        state_type: 'SCHEDULED',
        deployment_matches: true,
        work_queue_name: 'pc-queue',
        work_pool_name: 'pc-pool',
        parameters: { x: 2 },
        tags: ['pc', 'run'],
      });
    });

    it('reads the flow run by id and finds it through flow-run, state, deployment and work-pool filters', () => {
      expect(value('flow_run_read')).toEqual({
        same_id: true,
        found_by_id: [true],
        found_as_scheduled: true,
        found_by_deployment: true,
        found_by_pool: true,
        count: 1,
      });
    });

    it('creates a flow run for a flow (no deployment), renames it and sets its labels', () => {
      expect(value('flow_run_direct')).toEqual({
        state_type: 'PENDING',
        name: 'pc-direct-renamed',
        team_label: 'data',
        tags: ['direct'],
      });
    });

    it('reads flow runs sorted and paged', () => {
      expect(value('flow_runs_sorted')).toEqual({ count: 2 });
    });

    it('claims the run with Pending (ACCEPT); a second Pending is ABORT', () => {
      expect(value('claim')).toMatchObject({
        first: 'ACCEPT',
        first_state_type: 'PENDING',
        second: 'ABORT',
        current_state_type: 'PENDING',
      });
    });

    it('runs the claimed run to completion (RUNNING, then COMPLETED, both ACCEPT)', () => {
      expect(value('run_to_completion')).toEqual({
        running: 'ACCEPT',
        completed: 'ACCEPT',
        current_state_type: 'COMPLETED',
      });
    });

    it('sends worker heartbeats and lists the worker online; the pool becomes READY', () => {
      expect(value('heartbeat')).toEqual({ workers: [{ name: 'pc-worker', status: 'ONLINE' }], pool_status: 'READY' });
    });

    it('deletes a work pool', () => {
      expect(value('work_pool_delete')).toEqual({ gone: true });
    });

    it('deletes the flow run and the deployment', () => {
      expect(value('deletes')).toEqual({ run_gone: true, deployment_gone: true });
    });
  });

  describe('Prefect CLI', () => {
    it(
      'work-pool create --type process',
      async () => {
        await prefect(['work-pool', 'create', 'cli-pool', '--type', 'process'], async (output) => {
          expect(output).toContain("Created work pool 'cli-pool'");
          const pool = await live.gateway.get('/work_pools/cli-pool');
          expect(pool.body).toMatchObject({ name: 'cli-pool', type: 'process' });
          expect(Object.keys(pool.body.base_job_template)).toEqual(
            expect.arrayContaining(['job_configuration', 'variables']),
          );
        });
      },
      CLI_TIMEOUT_MS,
    );

    it(
      'work-pool ls',
      async () => {
        await prefect(['work-pool', 'ls'], (output) => expect(output).toContain('cli-pool'));
      },
      CLI_TIMEOUT_MS,
    );

    it(
      'work-pool inspect',
      async () => {
        await prefect(['work-pool', 'inspect', 'cli-pool'], (output) => {
          expect(output).toContain("name='cli-pool'");
          expect(output).toContain("type='process'");
        });
      },
      CLI_TIMEOUT_MS,
    );

    it(
      'work-pool pause and resume',
      async () => {
        await prefect(['work-pool', 'pause', 'cli-pool'], async () => {
          expect((await live.gateway.get('/work_pools/cli-pool')).body.status).toBe('PAUSED');
        });
        await prefect(['work-pool', 'resume', 'cli-pool'], async () => {
          expect((await live.gateway.get('/work_pools/cli-pool')).body.status).not.toBe('PAUSED');
        });
      },
      2 * CLI_TIMEOUT_MS,
    );

    it(
      'work-queue create --pool --priority --limit',
      async () => {
        await prefect(
          ['work-queue', 'create', 'cli-queue', '--pool', 'cli-pool', '--priority', '5', '--limit', '7'],
          async (output) => {
            expect(output).toContain("name - 'cli-queue'");
            expect(output).toContain("work pool - 'cli-pool'");
            expect((await live.gateway.get('/work_pools/cli-pool/queues/cli-queue')).body).toMatchObject({
              priority: 5,
              concurrency_limit: 7,
            });
          },
        );
      },
      CLI_TIMEOUT_MS,
    );

    it(
      'work-queue ls --pool',
      async () => {
        await prefect(['work-queue', 'ls', '--pool', 'cli-pool'], (output) => {
          expect(output).toContain('cli-queue');
          expect(output).toContain('default');
        });
      },
      CLI_TIMEOUT_MS,
    );

    it(
      'work-queue inspect --pool',
      async () => {
        await prefect(['work-queue', 'inspect', 'cli-queue', '--pool', 'cli-pool'], (output) =>
          expect(output).toContain("name='cli-queue'"),
        );
      },
      CLI_TIMEOUT_MS,
    );

    describe('with a deployment', () => {
      beforeAll(async () => {
        const flow = await live.gateway.post('/flows/', { name: 'cli-flow' });
        const deployment = await live.gateway.post('/deployments/', {
          name: 'cli-deployment',
          flow_id: flow.body.id,
          work_pool_name: 'cli-pool',
          work_queue_name: 'cli-queue',
          entrypoint: 'flows.py:etl',
        });
        if (deployment.status !== 201) {
          throw new Error(`could not create the deployment: ${deployment.status} ${deployment.text}`);
        }
      });

      it(
        'deployment ls',
        async () => {
          await prefect(['deployment', 'ls'], (output) => expect(output).toContain('cli-flow/cli-deployment'));
        },
        CLI_TIMEOUT_MS,
      );

      it(
        'deployment run creates a scheduled run in the queue',
        async () => {
          await prefect(['deployment', 'run', 'cli-flow/cli-deployment'], async (output) => {
            expect(output).toContain('Created flow run');
            const runs = await live.gateway.post('/flow_runs/filter', {
              work_pool_queues: { name: { any_: ['cli-queue'] } },
            });
            expect(runs.body).toEqual([
              expect.objectContaining({ work_queue_name: 'cli-queue', state_type: 'SCHEDULED' }),
            ]);
          });
        },
        CLI_TIMEOUT_MS,
      );
    });

    it(
      'worker start --run-once creates its pool and heartbeats',
      async () => {
        const args = [
          'worker',
          'start',
          '--pool',
          'cli-worker-pool',
          '--type',
          'process',
          '--name',
          'cli-worker',
          '--run-once',
        ];
        await prefect(args, async () => {
          expect((await live.gateway.get('/work_pools/cli-worker-pool')).body).toMatchObject({
            type: 'process',
            status: 'READY',
          });
          const workers = await live.gateway.post('/work_pools/cli-worker-pool/workers/filter', {});
          expect(workers.body).toEqual([expect.objectContaining({ name: 'cli-worker', status: 'ONLINE' })]);
        });
      },
      CLI_TIMEOUT_MS,
    );
  });

  // The delivery route, apart so that its state is visible at a glance; it relies on the blocks above.
  describe("the worker's poll (POST /work_pools/{name}/get_scheduled_flow_runs)", () => {
    it('answers the Python client with the due run of the polled queue, and holds it for that poller', () => {
      expect(value('worker_poll')).toEqual({
        contains_run: true,
        pool_matches: true,
        queue_matches: true,
        second_poll_contains_run: false,
      });
    });

    it('answers a poll that names no queue and no window with the runs of every queue', () => {
      expect(value('worker_poll_all_queues')).toEqual({ contains_run: true });
    });

    it("answers the stock worker's poll (all queues, scheduled_before now + prefetch) with 200", () => {
      const polls = proxy.exchanges.filter((e) => e.url === '/api/work_pools/cli-worker-pool/get_scheduled_flow_runs');
      expect(polls.map((e) => `${e.status} ${e.responseBody}`)).toEqual(['200 []']);
    });
  });
});
