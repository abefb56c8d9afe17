import { spawn } from 'node:child_process';
import path from 'node:path';

/**
 * A clean environment for a Prefect CLI, worker or client process: its own home and profile (no API key, no
 * profile of the machine's), no analytics, prompts or colours, wide unwrapped CLI output, and `apiUrl` as its API.
 */
export function prefectEnv(home: string, apiUrl: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: home,
    LANG: 'C.UTF-8',
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    PREFECT_HOME: home,
    PREFECT_PROFILES_PATH: path.join(home, 'profiles.toml'),
    PREFECT_API_URL: apiUrl,
    PREFECT_SERVER_ANALYTICS_ENABLED: 'false',
    DO_NOT_TRACK: '1',
    PREFECT_CLI_PROMPT: 'false',
    PREFECT_CLI_COLORS: 'false',
    PREFECT_CLI_WRAP_LINES: 'false',
    COLUMNS: '250',
    ...extra,
  };
}

export interface ProcessOutcome {
  code: number | null;
  stdout: string;
  /** stdout and stderr, interleaved as they came. */
  output: string;
}

/**
 * Runs a command to its end, killed after `timeoutMs`. The working directory is the Prefect home, which keeps any
 * prefect.toml or .env of this repository out of play.
 */
export function runToEnd(
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<ProcessOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.env.PREFECT_HOME,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => ((stdout += chunk.toString()), (output += chunk.toString())));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, output });
    });
  });
}
