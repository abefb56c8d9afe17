import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const PREFECT_VERSION = '3.9.1';

/**
 * The repository: the first folder above this file with a package.json. Tests load this file from `bench/`, the
 * benchmark from `dist/bench/`, and both must find the same virtualenv.
 */
function repositoryRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${__dirname}`);
  }
}

const VENV_DIR = path.join(repositoryRoot(), '.cache/prefect-venv');
const MARKER = path.join(VENV_DIR, 'prefect-dispatch-installed.txt');
const REQUIREMENT = `prefect==${PREFECT_VERSION}`;

export const venvBin = (name: string): string => path.join(VENV_DIR, 'bin', name);

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${output.slice(-4000)}`)),
    );
  });
}

/**
 * Makes sure the cached virtualenv holds the real Prefect client (and server) at the pinned version. The marker is written
 * last, so an interrupted install is redone rather than trusted; a different pinned version rebuilds the venv.
 */
export async function ensurePrefectVenv(): Promise<void> {
  const ready =
    existsSync(MARKER) && readFileSync(MARKER, 'utf8').trim() === REQUIREMENT && existsSync(venvBin('prefect'));
  if (ready) return;
  rmSync(VENV_DIR, { recursive: true, force: true });
  await run('python3', ['-m', 'venv', VENV_DIR]);
  await run(venvBin('pip'), ['install', '--quiet', '--disable-pip-version-check', REQUIREMENT]);
  writeFileSync(MARKER, `${REQUIREMENT}\n`);
}

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
