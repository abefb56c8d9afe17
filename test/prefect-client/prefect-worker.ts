import { ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startLiveGateway, type LiveGateway } from './live-gateway';
import { prefectEnv, runToEnd, type ProcessOutcome } from './prefect-process';
import { ensurePrefectVenv, venvBin } from '../../bench/prefect-venv';

/** A first run may install the Prefect virtualenv (a few minutes). */
export const WORKER_SETUP_TIMEOUT_MS = 15 * 60_000;

/** The deployments worker_flows.py makes, by name. */
export interface WorkerFlows {
  greet: string;
  limited: string;
  flaky: string;
  parent: string;
}

/** `prefect worker start` as a child process, its output kept for the failure message. */
export class WorkerProcess {
  output = '';
  readonly exited: Promise<number | null>;

  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

export interface WorkerFixtureOptions {
  /** The process pool the flows are deployed onto. */
  pool: string;
  /** Prefix of the temporary directories, naming the suite. */
  prefix: string;
  /** Settings of both apps. */
  settings?: Record<string, string>;
  /**
   * `cli`: `prefect work-pool create --type process`, as the README says (a Python start of its own). `script`: the
   * deploying script creates the pool with the process worker's default job template, as the CLI does, saving
   * that start where the CLI is not what a suite tests.
   */
  createPool: 'cli' | 'script';
}

/**
 * The setup every stock-worker suite shares: the gateway live on a loopback port, a clean Prefect home, a marker
 * directory the flows record their executions in, and worker_flows.py copied to a directory of its own (nothing is
 * written into the repository) and deployed from there onto a process pool. Workers started through it are killed
 * by {@link stop}.
 */
export class WorkerFixture {
  readonly workers: WorkerProcess[] = [];

  private constructor(
    readonly live: LiveGateway,
    readonly pool: string,
    readonly home: string,
    readonly markers: string,
    readonly source: string,
    readonly deployments: WorkerFlows,
  ) {}

  static async start(options: WorkerFixtureOptions): Promise<WorkerFixture> {
    await ensurePrefectVenv();
    const live = await startLiveGateway(options.settings);
    const dirs: string[] = [];
    try {
      const home = mkdtempSync(path.join(tmpdir(), `${options.prefix}-`));
      dirs.push(home);
      const markers = mkdtempSync(path.join(tmpdir(), `${options.prefix}-markers-`));
      dirs.push(markers);
      const source = mkdtempSync(path.join(tmpdir(), `${options.prefix}-source-`));
      dirs.push(source);
      copyFileSync(path.join(__dirname, 'worker_flows.py'), path.join(source, 'worker_flows.py'));
      const env = prefectEnv(home, live.apiUrl);
      const run = (command: string, args: string[]) => runToEnd(command, args, { env, timeoutMs: 5 * 60_000 });
      if (options.createPool === 'cli') {
        const created = await run(venvBin('prefect'), ['work-pool', 'create', options.pool, '--type', 'process']);
        if (created.code !== 0) throw new Error(`work-pool create exited ${created.code}:\n${created.output}`);
      }
      const deployed = await run(venvBin('python'), [
        path.join(source, 'worker_flows.py'),
        options.pool,
        markers,
        ...(options.createPool === 'script' ? ['--create-pool'] : []),
      ]);
      if (deployed.code !== 0) throw new Error(`deploying the flows exited ${deployed.code}:\n${deployed.output}`);
      const deployments = JSON.parse(deployed.stdout.trim().split('\n').pop()!) as WorkerFlows;
      return new WorkerFixture(live, options.pool, home, markers, source, deployments);
    } catch (error) {
      await live.stop();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** A Prefect CLI or Python process with this fixture's home and API, run to its end. */
  run(command: string, args: string[], extraEnv: Record<string, string> = {}): Promise<ProcessOutcome> {
    return runToEnd(command, args, { env: prefectEnv(this.home, this.live.apiUrl, extraEnv), timeoutMs: 5 * 60_000 });
  }

  /** The README's worker command on the fixture's pool; `env` adds Prefect settings, `args` worker options. */
  startWorker(name: string, { env = {}, args = [] }: { env?: Record<string, string>; args?: string[] } = {}) {
    const child = spawn(
      venvBin('prefect'),
      ['worker', 'start', '--pool', this.pool, '--type', 'process', '--name', name, ...args],
      { cwd: this.home, env: prefectEnv(this.home, this.live.apiUrl, env), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const worker = new WorkerProcess(name, child);
    this.workers.push(worker);
    return worker;
  }

  /** The last `tail` characters of every worker's output, for a failure message. */
  workerOutput(tail = 6000): string {
    return this.workers.map((w) => `--- worker ${w.name} ---\n${w.output.slice(-tail)}`).join('\n');
  }

  /** Polls `check` every `intervalMs` until it returns a value (not undefined); fails with the workers' output. */
  async eventually<T>(
    what: string,
    check: () => Promise<T | undefined> | T | undefined,
    timeoutMs: number,
    intervalMs = 100,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms\n${this.workerOutput()}`);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.stop('SIGKILL')));
    await this.live.stop();
    for (const dir of [this.home, this.markers, this.source]) rmSync(dir, { recursive: true, force: true });
  }
}
