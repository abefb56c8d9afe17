import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const ENTRY = {
  gateway: path.join(ROOT, 'dist/apps/gateway/src/main.js'),
  scheduler: path.join(ROOT, 'dist/apps/scheduler/src/main.js'),
  'nats-worker': path.join(ROOT, 'dist/apps/nats-worker/src/main.js'),
};

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

/** One of the built apps running as a real process, with its output collected line by line. */
export class AppProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];

  private constructor(readonly child: ChildProcess) {
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        this.lines.push(line);
        this.waiters = this.waiters.filter((w) => (w.pattern.test(line) ? (w.resolve(line), false) : true));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  static start(app: keyof typeof ENTRY, env: Record<string, string>, args: string[] = []): AppProcess {
    if (!existsSync(ENTRY[app])) throw new Error(`${ENTRY[app]} is missing: run \`npm run build\` first`);
    const child = spawn(process.execPath, [ENTRY[app], ...args], {
      // A scheduler's metrics listener on a port of its own unless the test names one: several run side by side.
      env: { PATH: process.env.PATH ?? '', METRICS_PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new AppProcess(child);
  }

  /** Resolves with the first output line (already seen or future) that matches. */
  waitForLine(pattern: RegExp, timeoutMs = 15_000): Promise<string> {
    const seen = this.lines.find((line) => pattern.test(line));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms:\n${this.lines.join('\n')}`)),
        timeoutMs,
      );
      this.waiters.push({ pattern, resolve: (line) => (clearTimeout(timer), resolve(line)) });
    });
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

/** Polls `url` until it answers 200 or the time runs out. */
export async function waitForHttp(url: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not come up within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
