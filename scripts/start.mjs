#!/usr/bin/env node
// Runs the gateway and the scheduler side by side (what `npm start` launches after the build). Both share
// this terminal and environment; a signal reaches both; when either one exits the other is stopped and this
// process exits with the first one's code, so a supervisor sees the service as down rather than half-up.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const apps = ['gateway', 'scheduler'].map((name) => ({
  name,
  entry: path.join(root, 'dist/apps', name, 'src/main.js'),
}));

// V8 lets each app's young generation grow to 2 × 16 MiB and keeps it committed at rest. Semi-spaces of 2 MiB still
// hold what a request allocates: measured, poll latency and CPU per poll or per claim unchanged (16 concurrent idle
// pollers even faster), and ~25 MiB less resident per app. A NODE_OPTIONS of the caller's comes after, so it wins.
const nodeOptions = ['--max-semi-space-size=2', process.env.NODE_OPTIONS].filter(Boolean).join(' ');

const missing = apps.filter((app) => !existsSync(app.entry));
if (missing.length > 0) {
  console.error(`not built: ${missing.map((app) => app.entry).join(', ')} (run \`npm run build\` first)`);
  process.exit(1);
}

const running = new Map();
const signalled = new Set();
let exitCode;

// One signal per child: the apps treat a second signal during shutdown as "exit now".
function stopAll(signal) {
  for (const [name, child] of running) {
    if (signalled.has(name)) continue;
    signalled.add(name);
    child.kill(signal);
  }
}

function ended(name, code) {
  if (!running.delete(name)) return;
  exitCode ??= code;
  if (running.size === 0) process.exit(exitCode);
  stopAll('SIGTERM');
}

for (const app of apps) {
  // Own process group: a terminal's Ctrl-C then reaches each app once, through the forwarding below.
  const child = spawn(process.execPath, [app.entry], {
    stdio: 'inherit',
    env: { ...process.env, NODE_OPTIONS: nodeOptions },
    detached: true,
  });
  running.set(app.name, child);
  child.on('error', (error) => {
    console.error(`${app.name} could not start: ${error.message}`);
    ended(app.name, 1);
  });
  // A child ended by a signal reports it the shell way: 128 + the signal's number.
  child.on('exit', (code, signal) => ended(app.name, code ?? 128 + (constants.signals[signal] ?? 0)));
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => stopAll(signal));
}
