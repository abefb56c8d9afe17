// `npm run demo`: a live demonstration of delivery. Starts its own gateway, scheduler and example NATS worker
// (on a database and NATS namespace of its own), creates a pool and a run due every 2 seconds, and runs a
// stock-style HTTP poller beside the NATS worker. Each run is claimed once, by one of them.
//   npm run demo -- [--seconds 30] [--every 2]
import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'pg';

const { values: args } = parseArgs({
  options: { seconds: { type: 'string', default: '30' }, every: { type: 'string', default: '2' } },
});
const root = path.resolve(__dirname, '../..');
const namespace = `demo-${process.pid}`;
const database = `prefect_dispatch_demo_${process.pid}`;
const server = 'postgres://postgres@127.0.0.1:5432';
const children: ChildProcess[] = [];
const claims = new Map<string, string[]>();

const color = { http: '\x1b[36m', nats: '\x1b[35m', demo: '\x1b[33m', reset: '\x1b[0m' };
const say = (who: keyof typeof color, message: string) =>
  process.stdout.write(`${color[who]}[${who.padEnd(4)}]${color.reset} ${message}\n`);

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => resolve(typeof address === 'object' && address ? address.port : 4200));
    });
  });
}

async function admin(sql: string): Promise<void> {
  const client = new Client({ connectionString: `${server}/postgres` });
  await client.connect();
  await client.query(sql);
  await client.end();
}

function start(
  app: string,
  env: Record<string, string>,
  extraArgs: string[] = [],
  onLine?: (line: string) => void,
): ChildProcess {
  const child = spawn(process.execPath, [path.join(root, `dist/apps/${app}/src/main.js`), ...extraArgs], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const forward = (chunk: Buffer) =>
    chunk
      .toString()
      .split('\n')
      .filter(Boolean)
      .forEach((line) => onLine?.(line));
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  children.push(child);
  return child;
}

async function main(): Promise<void> {
  const port = await freePort();
  const api = `http://127.0.0.1:${port}/api`;
  const env = {
    DATABASE_URL: `${server}/${database}`,
    NATS_NAMESPACE: namespace,
    PORT: String(port),
    LOG_LEVEL: 'warn',
    // Beside a running `npm start`, whose scheduler holds 4201.
    METRICS_PORT: '0',
  };
  const call = async <T>(
    method: string,
    route: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<T> => {
    const response = await fetch(`${api}${route}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return (response.status === 204 ? null : await response.json()) as T;
  };
  type Run = { id: string; name: string };
  const claimed = (runId: string, by: string) => claims.set(runId, [...(claims.get(runId) ?? []), by]);

  say('demo', `starting gateway (${api}) and scheduler, namespace ${namespace}`);
  start('gateway', env, [], (line) => line.includes('"level":"error"') && say('demo', `gateway: ${line}`));
  start('scheduler', env, [], (line) => line.includes('"level":"error"') && say('demo', `scheduler: ${line}`));
  for (let i = 0; ; i++) {
    if ((await fetch(`${api}/health`).catch(() => null))?.ok) break;
    if (i > 100) throw new Error('the gateway did not come up');
    await new Promise((r) => setTimeout(r, 200));
  }
  await call('POST', '/work_pools/', { name: 'demo-pool', type: 'process' });
  const flow = await call<{ id: string }>('POST', '/flows/', { name: 'demo-flow' });

  // The NATS worker: the example app, taking runs straight from JetStream and claiming them over NATS.
  start(
    'nats-worker',
    {},
    ['--pool', 'demo-pool', '--api', api, '--namespace', namespace, '--name', 'nats-worker'],
    (line) => {
      try {
        const entry = JSON.parse(line) as { message: string; flow_run_id?: string; name?: string };
        if (entry.flow_run_id && entry.message.startsWith('claimed')) {
          claimed(entry.flow_run_id, 'nats');
          say('nats', `claimed ${entry.name} (${entry.flow_run_id.slice(0, 8)}) straight from JetStream`);
        }
      } catch {
        // not a log line of ours
      }
    },
  );

  const deadline = Date.now() + Number(args.seconds) * 1000;
  let created = 0;
  const creator = (async () => {
    while (Date.now() < deadline) {
      // A small burst, so both workers have something to take at once.
      for (let i = 0; i < 3; i++) {
        const run = await call<Run>('POST', '/flow_runs/', {
          flow_id: flow.id,
          work_pool_name: 'demo-pool',
          state: { type: 'SCHEDULED' },
        });
        created++;
        say('demo', `created ${run.name} (${run.id.slice(0, 8)}), due now`);
      }
      await new Promise((r) => setTimeout(r, Number(args.every) * 1000));
    }
  })();

  // The HTTP poller: what a stock Prefect worker sends (plus `Prefer: wait`, the long poll), claiming with set_state PENDING.
  const poller = (async () => {
    while (Date.now() < deadline + 3000) {
      const before = new Date(Date.now() + 10_000).toISOString().replace('T', ' ').replace('Z', '+00:00');
      const poll = await call<{ flow_run: Run }[]>(
        'POST',
        '/work_pools/demo-pool/get_scheduled_flow_runs',
        { work_queue_names: [], scheduled_before: before },
        { prefer: 'wait=5' },
      );
      for (const { flow_run: run } of poll) {
        const claim = await call<{ status: string }>('POST', `/flow_runs/${run.id}/set_state`, {
          state: { type: 'PENDING' },
        });
        if (claim.status === 'ACCEPT') claimed(run.id, 'http');
        say('http', `claimed ${run.name} (${run.id.slice(0, 8)}) from a poll: ${claim.status}`);
      }
    }
  })();
  await Promise.all([creator, poller]);
  await new Promise((r) => setTimeout(r, 2000));

  const pending = await call<number>('POST', '/flow_runs/count', {
    flow_runs: { state: { type: { any_: ['PENDING'] } } },
  });
  const twice = [...claims.entries()].filter(([, by]) => by.length > 1);
  const by = (who: string) => [...claims.values()].filter((list) => list.includes(who)).length;
  say(
    'demo',
    `created ${created} runs; claimed by the HTTP poller: ${by('http')}, by the NATS worker: ${by('nats')}; ` +
      `runs in PENDING: ${pending}; claimed twice: ${twice.length}`,
  );
  if (twice.length > 0 || claims.size !== created) process.exitCode = 1;
}

async function shutdown(): Promise<void> {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
  await admin(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`).catch(() => undefined);
}

main()
  .catch((error: unknown) => {
    say('demo', `failed: ${String(error)}`);
    process.exitCode = 1;
  })
  .finally(() => void shutdown());
