import {
  initialWorkPoolStatus,
  isLastPolledRecent,
  workQueueHealth,
  reportedWorkPoolStatus,
  workPoolStatusForPause,
  workQueueStatusForPause,
} from './statuses';

describe('work pool status', () => {
  it.each([
    ['process', false, 'NOT_READY'],
    ['process', true, 'PAUSED'],
    ['prefect-agent', true, 'NOT_READY'],
    ['prefect-agent', false, 'NOT_READY'],
  ] as const)('a new %s pool (paused=%s) is stored %s', (type, paused, status) => {
    expect(initialWorkPoolStatus(type, paused)).toBe(status);
  });

  it('agent pools report no status', () => {
    expect(reportedWorkPoolStatus('prefect-agent', 'READY')).toBeNull();
    expect(reportedWorkPoolStatus('process', 'READY')).toBe('READY');
  });

  it.each([
    [true, false, 'PAUSED'],
    [true, true, 'PAUSED'],
    [false, true, 'READY'],
    [false, false, 'NOT_READY'],
    [undefined, true, undefined],
    [null, true, undefined],
  ] as const)('is_paused=%s with online worker=%s -> %s', (paused, online, status) => {
    expect(workPoolStatusForPause('process', paused, online)).toBe(status);
    expect(workPoolStatusForPause('prefect-agent', paused, online)).toBeUndefined();
  });
});

describe('work queue status', () => {
  const now = new Date('2026-08-21T12:00:00Z');
  const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000);

  it('a poll within 60 s (inclusive) is recent', () => {
    expect(isLastPolledRecent(ago(60), now)).toBe(true);
    expect(isLastPolledRecent(ago(61), now)).toBe(false);
    expect(isLastPolledRecent(null, now)).toBe(false);
  });

  it.each([
    ['NOT_READY', true, null, 'PAUSED'],
    ['READY', true, null, 'PAUSED'],
    ['PAUSED', true, null, undefined],
    ['PAUSED', false, null, 'NOT_READY'],
    ['PAUSED', false, 120, 'NOT_READY'],
    ['PAUSED', false, 5, 'READY'],
    ['READY', false, 5, undefined],
    ['NOT_READY', false, null, undefined],
    ['NOT_READY', undefined, null, undefined],
  ] as const)('%s with is_paused=%s, last polled %s s ago -> %s', (current, paused, seconds, status) => {
    expect(workQueueStatusForPause(current, paused, seconds === null ? null : ago(seconds), now)).toBe(status);
  });
});

describe('workQueueHealth', () => {
  const now = new Date('2026-01-01T12:00:00Z');
  const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000);

  it('is healthy only when polled within 60 s and no run is late', () => {
    expect(workQueueHealth(ago(10), 0, now).healthy).toBe(true);
    expect(workQueueHealth(ago(61), 0, now).healthy).toBe(false);
    expect(workQueueHealth(null, 0, now).healthy).toBe(false);
    expect(workQueueHealth(ago(10), 1, now)).toMatchObject({ healthy: false, late_runs_count: 1 });
  });

  it("reports Prefect's default policy", () => {
    expect(workQueueHealth(null, 0, now).health_check_policy).toEqual({
      maximum_late_runs: 0,
      maximum_seconds_since_last_polled: 60,
    });
  });
});
