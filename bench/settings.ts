/** What the benchmark measures and the targets it checks (issue 3). */
export const SETTINGS = {
  pools: 500,
  /** Every n-th pool gets a concurrency limit, so the slot-counting branch of the poll is exercised too. */
  limitedPoolEvery: 10,
  poolConcurrencyLimit: 50,
  pollers: 50,
  targetPollsPerSecond: 200,
  /** The stock worker's prefetch: it polls with `scheduled_before = now + 10 s`. */
  prefetchSeconds: 10,
  /** Runs coming due per second during a scenario, spread over all pools, so that polls return work. */
  trickleRunsPerSecond: 10,
  /** The backlog of future runs lies this far ahead: beyond every scenario, spread over days. */
  backlogFromHours: 1,
  backlogToDays: 3,
  /** Before each scenario, wait at most this long for other users' work on the machine to finish. */
  quietWaitSeconds: 20,
  /**
   * A scenario during which other processes used more than this (% of one core, on average) is measured again,
   * up to `maxAttempts` times in all; the least disturbed attempt is reported.
   */
  disturbedOthersPercent: 20,
  maxAttempts: 2,
  warmupSeconds: 5,
  measureSeconds: 20,
  /** One due-now run is created this often in the probe pool, and polled for until it shows up. */
  probeIntervalMs: 250,
  probeTimeoutMs: 5_000,
  /** Sequential polls with nothing else running, to count what one poll costs. */
  isolatedPolls: 300,
  scenarios: [
    { label: '1k', scheduledRuns: 1_000 },
    { label: '100k', scheduledRuns: 100_000 },
  ],
  targets: { pollP99Ms: 10, scaleRatio: 1.3, dueToPollableP99Ms: 100 },
} as const;

export type Scenario = (typeof SETTINGS.scenarios)[number];
