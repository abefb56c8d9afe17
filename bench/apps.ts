import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const ENTRIES = {
  gateway: 'apps/gateway/src/main.js',
  scheduler: 'apps/scheduler/src/main.js',
  'nats-worker': 'apps/nats-worker/src/main.js',
};

export interface StartOptions {
  args?: string[];
  /** Options of node itself, before the entry (`--cpu-prof`, which NODE_OPTIONS refuses). */
  nodeArgs?: string[];
  /**
   * The build to start the app from, relative to the repository: `dist` unless told another (the dispatch
   * benchmark compares a change with the build before it, kept in another folder of the same checkout so that it
   * resolves the same node_modules).
   */
  dist?: string;
}
const STOP_TIMEOUT_MS = 15_000;
const KEPT_OUTPUT_LINES = 200;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** What every benchmark's apps are started with: their database, NATS namespace and port, quiet logs. */
export function appSettings(databaseUrl: string, namespace: string, port: number): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    NATS_NAMESPACE: namespace,
    LOG_LEVEL: 'warn',
    PORT: String(port),
    HOST: '127.0.0.1',
  };
}

/**
 * Options of node for an app, from an environment variable of the benchmark (`BENCH_GATEWAY_NODE_ARGS`,
 * `BENCH_SCHEDULER_NODE_ARGS`, `BENCH_NATS_WORKER_NODE_ARGS`: `--cpu-prof --cpu-prof-dir=/tmp/prof`, say), to see
 * where its CPU goes through the rounds.
 */
export function nodeArgsFrom(variable: string): string[] | undefined {
  return process.env[variable]?.split(' ').filter(Boolean);
}

/** One of the built apps as a real process; its last output lines are kept for error messages. */
export class AppProcess {
  private readonly output: string[] = [];
  private readonly exited: Promise<void>;
  /** Called with every chunk the process writes to stdout (a chunk may hold several lines, or part of one). */
  onOutput?: (chunk: string) => void;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    const keep = (chunk: Buffer) => {
      this.output.push(...chunk.toString().split('\n').filter(Boolean));
      this.output.splice(0, Math.max(0, this.output.length - KEPT_OUTPUT_LINES));
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.stdout?.on('data', (chunk: Buffer) => this.onOutput?.(chunk.toString()));
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  static start(app: keyof typeof ENTRIES, env: Record<string, string>, options: StartOptions = {}): AppProcess {
    const entry = path.resolve(ROOT, options.dist ?? 'dist', ENTRIES[app]);
    if (!existsSync(entry)) {
      throw new Error(`${entry} is missing: build the apps first (\`npm run build\`)`);
    }
    // Started as scripts/start.mjs and the image start them (their young generation capped), so as deployed.
    const child = spawn(
      process.execPath,
      ['--max-semi-space-size=2', ...(options.nodeArgs ?? []), entry, ...(options.args ?? [])],
      {
        // Schedulers run side by side here: each gets a free port for its metrics listener unless told one.
        env: { PATH: process.env.PATH ?? '', METRICS_PORT: '0', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    return new AppProcess(app, child);
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name} has no pid`);
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  recentOutput(): string {
    return this.output.join('\n');
  }

  /** SIGTERM (the apps shut down gracefully), then SIGKILL if that takes too long. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }
}

export async function waitForHealth(port: number, app: AppProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!app.running) throw new Error(`${app.name} exited during startup:\n${app.recentOutput()}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/api/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${app.name} did not answer /api/health within ${timeoutMs} ms:\n${app.recentOutput()}`);
}

/** Resident set size of a process, from /proc (Linux); NaN once it is gone (the sampler then reports it, not crash). */
export function rssBytes(pid: number): number {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return Number.NaN;
  }
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

export const CLOCK_TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** User + system CPU time a process has used so far, in clock ticks; null once it is gone. */
export async function processCpuTicks(pid: number): Promise<number | null> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  return stat === null ? null : cpuTicksOfStat(stat);
}

/** {@link processCpuTicks} read at once, 0 once the process is gone (to time a batch between two reads). */
export function processCpuTicksNow(pid: number): number {
  try {
    return cpuTicksOfStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return 0;
  }
}

function cpuTicksOfStat(stat: string): number {
  // Fields after the command name (which may hold spaces) start at field 3; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** The whole machine's CPU time so far (all cores), busy and total, in clock ticks. */
export function machineCpuTicks(): { busy: number; total: number } {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const ticks = values.map(Number);
  const total = ticks.reduce((sum, value) => sum + value, 0);
  const idle = ticks[3] + ticks[4];
  return { busy: total - idle, total };
}

/**
 * A benchmark's `work` with its apps: `cleanUp` runs after it, and also (the process then exiting) on Ctrl-C or
 * SIGTERM meanwhile; should the work fail, the apps' last output is logged first.
 */
export async function runWithApps<T>(
  apps: readonly AppProcess[],
  cleanUp: () => Promise<void>,
  log: (message: string) => void,
  work: () => Promise<T>,
): Promise<T> {
  const onSignal = () => void cleanUp().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await work();
  } catch (error) {
    for (const app of apps) if (app.recentOutput()) log(`${app.name} output:\n${app.recentOutput()}`);
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanUp();
  }
}
