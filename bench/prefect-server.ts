import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './apps';
import { BenchDatabase } from './bench-database';
import { ensurePrefectVenv, PREFECT_VERSION, prefectEnv, venvBin } from './prefect-venv';

const START_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 20_000;
const KEPT_OUTPUT_CHARS = 8_000;

/**
 * Prefect's real server, started as a user starts it (`prefect server start`: the API and its services —
 * scheduler, late runs, foreman, cancellation clean-up, event persister... — in one process) on a Postgres
 * database of its own, dropped and created for the run. The dashboard is off (static files, no part of dispatch).
 */
export class PrefectServer {
  private output = '';
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly db: BenchDatabase,
    private readonly home: string,
  ) {
    const keep = (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-KEPT_OUTPUT_CHARS));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  static readonly version = PREFECT_VERSION;

  /** Installs Prefect in the virtualenv if missing, then starts the server; resolves once `/api/health` answers. */
  static async start(databaseName: string, log: (message: string) => void): Promise<PrefectServer> {
    await ensurePrefectVenv();
    const db = await BenchDatabase.recreate(databaseName);
    const port = await freePort();
    const home = mkdtempSync(path.join(os.tmpdir(), 'bench-prefect-'));
    const child = spawn(
      venvBin('prefect'),
      // Between rounds the load generator's connections sit idle longer than uvicorn's 5 s default; a connection
      // closed under a request would fail it, which a stock client retries and this one does not.
      ['server', 'start', '--host', '127.0.0.1', '--port', String(port), '--keep-alive-timeout', '60'],
      {
        // The Prefect home as working directory keeps this repository's files out of Prefect's settings.
        cwd: home,
        env: prefectEnv(home, `http://127.0.0.1:${port}/api`, {
          PREFECT_API_DATABASE_CONNECTION_URL: `postgresql+asyncpg://postgres@127.0.0.1:5432/${databaseName}`,
          PREFECT_SERVER_UI_ENABLED: 'false',
          PREFECT_SERVER_LOGGING_LEVEL: 'WARNING',
        }),
        stdio: ['ignore', 'pipe', 'pipe'],
        // Its own process group, so that stopping it reaches any process it forks.
        detached: true,
      },
    );
    const server = new PrefectServer(child, port, db, home);
    const startedAt = Date.now();
    try {
      while (Date.now() - startedAt < START_TIMEOUT_MS) {
        if (!server.running) throw new Error(`prefect server exited during start-up:\n${server.output}`);
        try {
          if ((await fetch(`http://127.0.0.1:${port}/api/health`)).ok) break;
        } catch {
          // not listening yet
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      if (Date.now() - startedAt >= START_TIMEOUT_MS) {
        throw new Error(`prefect server did not answer /api/health within ${START_TIMEOUT_MS} ms:\n${server.output}`);
      }
      await db.connect();
    } catch (error) {
      await server.stop();
      throw error;
    }
    log(`Prefect ${PREFECT_VERSION} server up on port ${port} in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
    return server;
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('prefect server has no pid');
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  recentOutput(): string {
    return this.output;
  }

  /** SIGTERM to its process group (uvicorn shuts down, services stop), SIGKILL if that takes too long; then the database. */
  async stop(): Promise<void> {
    if (this.running) {
      const signal = (name: NodeJS.Signals) => {
        try {
          process.kill(-this.pid, name);
        } catch {
          // already gone
        }
      };
      signal('SIGTERM');
      const timer = setTimeout(() => signal('SIGKILL'), STOP_TIMEOUT_MS);
      await this.exited;
      clearTimeout(timer);
    }
    await this.db.drop();
    rmSync(this.home, { recursive: true, force: true });
  }
}
