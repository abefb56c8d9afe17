import { pollLeaseMs } from './poll-lease';

describe('pollLeaseMs', () => {
  const settings = { claimWindowMs: 2000, perRunMs: 300, maxSeconds: 30 };

  it('grows with the runs returned, from the claim window', () => {
    expect(pollLeaseMs(1, settings)).toBe(2300);
    expect(pollLeaseMs(4, settings)).toBe(3200);
    expect(pollLeaseMs(30, settings)).toBe(11000);
  });

  it('never exceeds DELIVERY_LEASE_SECONDS', () => {
    expect(pollLeaseMs(200, settings)).toBe(30_000);
    expect(pollLeaseMs(1, { ...settings, maxSeconds: 1 })).toBe(1000);
  });
});
