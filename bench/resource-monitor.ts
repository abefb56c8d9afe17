import { readdir, readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { CLOCK_TICKS_PER_SECOND, machineCpuTicks, processCpuTicks, rssBytes } from './apps';

const SAMPLE_INTERVAL_MS = 500;
/** What the apps and the load generator use on their own leaves the machine below this (% of all cores). */
const QUIET_MACHINE_PERCENT = 25;

export const OTHERS = 'everything else';
/** The example NATS workers the dispatch benchmark starts, apart from the rest of the load generator. */
export const NATS_WORKERS = 'NATS workers';
export const POSTGRES_BACKENDS = 'postgres (bench database)';
/** Shared by every database on the server, but during the benchmark they mostly write the benchmark's WAL. */
export const POSTGRES_SERVER = 'postgres (server processes)';
const POSTGRES_SERVER_PROCESS =
  /^postgres: [^:]+: (checkpointer|background writer|walwriter|autovacuum launcher|archiver)/;

/** One sampling interval: how much of the machine (all cores, %) went to processes that are not the benchmark's. */
export interface Interval {
  startAt: number;
  endAt: number;
  othersPercent: number;
}

export interface ResourceUsage {
  /** From the first sample to the last. */
  elapsedMs: number;
  /** Per group, in % of one core, over the measured time; {@link OTHERS} is what the machine spent beyond the groups. */
  cpuPercent: Record<string, number>;
  rssPeakBytes: Record<string, number>;
  rssEndBytes: Record<string, number>;
  intervals: Interval[];
}

interface Sample {
  at: number;
  machine: { busy: number; total: number };
  ticks: Map<number, { group: string; ticks: number }>;
}

/**
 * CPU and resident memory of the benchmark's processes, sampled from /proc: the gateway, the scheduler, this
 * load generator, the Postgres backends serving the benchmark database and the server's own processes,
 * nats-server; and how much of the machine went to anything else (other users' builds and tests perturb a 2-core
 * machine's latencies most).
 */
export class ResourceMonitor {
  private readonly samples: Sample[] = [];
  private readonly rssPeak: Record<string, number>;
  private readonly groupOfPid = new Map<number, string | null>();
  private timer?: NodeJS.Timeout;
  private sampling: Promise<void> = Promise.resolve();

  constructor(
    private readonly apps: Record<string, number>,
    private readonly databaseName: string,
  ) {
    this.rssPeak = Object.fromEntries(Object.keys(apps).map((name) => [name, 0]));
  }

  async start(): Promise<void> {
    await this.sample();
    this.timer = setInterval(() => {
      this.sampling = this.sampling.then(() => this.sample());
    }, SAMPLE_INTERVAL_MS);
  }

  async stop(): Promise<ResourceUsage> {
    clearInterval(this.timer);
    await this.sampling;
    await this.sample();
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const elapsedTicks = ((last.at - first.at) / 1000) * CLOCK_TICKS_PER_SECOND;
    const groupTicks = this.ticksByGroup(first, last);
    const oursTicks = [...groupTicks.values()].reduce((sum, ticks) => sum + ticks, 0);
    const cpuPercent = Object.fromEntries(
      [...groupTicks].map(([group, ticks]) => [group, (100 * ticks) / elapsedTicks]),
    );
    cpuPercent[OTHERS] = (100 * Math.max(0, last.machine.busy - first.machine.busy - oursTicks)) / elapsedTicks;
    return {
      elapsedMs: last.at - first.at,
      cpuPercent,
      rssPeakBytes: { ...this.rssPeak },
      rssEndBytes: Object.fromEntries(Object.entries(this.apps).map(([name, pid]) => [name, rssBytes(pid)])),
      intervals: this.samples.slice(1).map((sample, i) => {
        const previous = this.samples[i];
        const ours = [...this.ticksByGroup(previous, sample).values()].reduce((sum, ticks) => sum + ticks, 0);
        const others = Math.max(0, sample.machine.busy - previous.machine.busy - ours);
        return {
          startAt: previous.at,
          endAt: sample.at,
          othersPercent: (100 * others) / (sample.machine.total - previous.machine.total),
        };
      }),
    };
  }

  private ticksByGroup(from: Sample, to: Sample): Map<string, number> {
    // Each process as last seen up to `to`: one that exited in between (a Postgres backend whose connection closed)
    // still counts what it used until its last sample.
    const lastSeen = new Map<number, { group: string; ticks: number }>();
    for (const sample of this.samples.slice(this.samples.indexOf(from) + 1, this.samples.indexOf(to) + 1)) {
      for (const [pid, seen] of sample.ticks) lastSeen.set(pid, seen);
    }
    const byGroup = new Map<string, number>();
    for (const [pid, { group, ticks }] of lastSeen) {
      // A process that appeared in between used all its CPU time in between.
      byGroup.set(group, (byGroup.get(group) ?? 0) + ticks - (from.ticks.get(pid)?.ticks ?? 0));
    }
    return byGroup;
  }

  private async sample(): Promise<void> {
    const ticks = new Map<number, { group: string; ticks: number }>();
    for (const pid of await this.benchPids()) {
      const group = this.groupOfPid.get(pid);
      const used = group ? await processCpuTicks(pid) : null;
      if (group && used !== null) ticks.set(pid, { group, ticks: used });
    }
    for (const [name, pid] of Object.entries(this.apps)) {
      this.rssPeak[name] = Math.max(this.rssPeak[name], rssBytes(pid));
    }
    this.samples.push({ at: performance.now(), machine: machineCpuTicks(), ticks });
  }

  /** Every live process that belongs to the benchmark; each pid is classified once. */
  private async benchPids(): Promise<number[]> {
    const pids = (await readdir('/proc')).filter((entry) => /^\d+$/.test(entry)).map(Number);
    for (const pid of pids) {
      if (this.groupOfPid.has(pid)) continue;
      const group = await this.classify(pid);
      if (group !== undefined) this.groupOfPid.set(pid, group);
    }
    return pids.filter((pid) => this.groupOfPid.get(pid));
  }

  /** The process's group, null if it is none of the benchmark's, undefined if it cannot tell yet. */
  private async classify(pid: number): Promise<string | null | undefined> {
    const app = Object.entries(this.apps).find(([, appPid]) => appPid === pid);
    if (app) return app[0];
    // A server that forks (uvicorn workers, a services process) is measured as its whole process tree.
    const parent = await parentPid(pid);
    if (parent !== null && parent > 1) {
      const parentGroup = this.groupOfPid.has(parent) ? this.groupOfPid.get(parent) : await this.classify(parent);
      if (parentGroup && Object.hasOwn(this.apps, parentGroup)) return parentGroup;
    }
    if (pid === process.pid) return 'load generator';
    const title = await processTitle(pid);
    if (title.startsWith('postgres:')) {
      // Backends and autovacuum workers name their database in their process title.
      if (title.split(/[\s\0]+/).includes(this.databaseName)) return POSTGRES_BACKENDS;
      if (POSTGRES_SERVER_PROCESS.test(title)) return POSTGRES_SERVER;
      return null;
    }
    // A backend just forked still bears the postmaster's command line until it names its database: ask again.
    if (parent !== null && /(^|\/)postgres\0/.test(title) && title === (await processTitle(parent))) {
      return undefined;
    }
    // A benchmark on a private nats-server names its pid: the machine's own (other sessions' load) is not its.
    if (/(^|\/)nats-server\0/.test(title)) return Object.hasOwn(this.apps, 'nats-server') ? null : 'nats-server';
    // The example NATS workers the dispatch benchmark starts: load, as its HTTP workers are, but measured on their
    // own, since what a worker spends per run shares the cores with the system and is the protocol's cost too.
    if (title.includes('apps/nats-worker/src/main.js')) return NATS_WORKERS;
    return null;
  }
}

const processTitle = (pid: number): Promise<string> => readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');

async function parentPid(pid: number): Promise<number | null> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  // The fields after the command name (which may hold spaces and parentheses): state, then the parent's pid.
  return stat === null ? null : Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/**
 * Waits until the machine is quiet (below {@link QUIET_MACHINE_PERCENT} busy for two seconds in a row) or the time
 * is up. Resolves to whether it got quiet.
 */
export async function waitForQuietMachine(timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  let quietSeconds = 0;
  let previous = machineCpuTicks();
  while (performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const current = machineCpuTicks();
    const busy = (100 * (current.busy - previous.busy)) / (current.total - previous.total);
    previous = current;
    quietSeconds = busy < QUIET_MACHINE_PERCENT ? quietSeconds + 1 : 0;
    if (quietSeconds >= 2) return true;
  }
  return false;
}
