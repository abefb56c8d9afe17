import fc from 'fast-check';
import { judgeOffer, mayClaimOffer, OfferedRow, recordsPublication } from './offer-verdict';
import { RunPublication } from './publication';

const NOW = new Date('2026-01-01T12:00:00Z');
const QUEUE = 'q1';
const row = (overrides: Partial<OfferedRow> = {}): OfferedRow => ({
  state_id: 's1',
  state_type: 'SCHEDULED',
  work_queue_id: QUEUE,
  dispatched_state_id: 's1',
  dispatch_epoch: 3,
  leased_until: null,
  next_scheduled_start_time: new Date(NOW.getTime() + 5000),
  empirical_policy: {},
  ...overrides,
});
const offer: RunPublication = { runId: 'r', stateId: 's1', epoch: 3 };
const open = { after: null, before: null };

describe('judgeOffer', () => {
  it('delivers the recorded publication of a deliverable run', () => {
    expect(judgeOffer(row(), offer, QUEUE, open, NOW)).toBe('deliver');
  });

  it.each([
    ['deleted', null],
    ['moved to another queue', row({ work_queue_id: 'q2' })],
    ['claimed', row({ state_type: 'PENDING' })],
    ['an in-process retry', row({ empirical_policy: { retry_type: 'in_process' } })],
    ['republished since (older epoch)', row({ dispatch_epoch: 4 })],
    ['in a new state not yet published', row({ state_id: 's2' })],
    ['leased to another holder', row({ leased_until: new Date(NOW.getTime() + 1) })],
  ])('drops the message of a run %s', (_case, candidate) => {
    expect(judgeOffer(candidate, offer, QUEUE, open, NOW)).toBe('stale');
  });

  it('takes an unrecorded newer publication of the current state (dispatcher died before recording)', () => {
    expect(judgeOffer(row({ dispatch_epoch: 2, dispatched_state_id: null }), offer, QUEUE, open, NOW)).toBe('deliver');
    expect(judgeOffer(row({ dispatch_epoch: 2, state_id: 's2' }), offer, QUEUE, open, NOW)).toBe('stale');
  });

  it('delivers a run whose lease has run out', () => {
    expect(judgeOffer(row({ leased_until: new Date(NOW.getTime() - 1) }), offer, QUEUE, open, NOW)).toBe('deliver');
  });

  it('leaves runs outside the window for other pollers, window ends inclusive', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -100, max: 100 }),
        fc.integer({ min: -100, max: 100 }),
        fc.integer({ min: -100, max: 100 }),
        (t, a, b) => {
          const at = (s: number) => new Date(NOW.getTime() + s * 1000);
          const verdict = judgeOffer(
            row({ next_scheduled_start_time: at(t) }),
            offer,
            QUEUE,
            { after: at(a), before: at(b) },
            NOW,
          );
          expect(verdict).toBe(t >= a && t <= b ? 'deliver' : 'elsewhere');
        },
      ),
    );
  });
});

describe('mayClaimOffer', () => {
  it('is whether a poll with no window would deliver the offer, whenever the run is due', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('SCHEDULED', 'PENDING', 'RUNNING'),
        fc.integer({ min: 2, max: 4 }),
        fc.integer({ min: 2, max: 4 }),
        fc.option(fc.integer({ min: -10, max: 10 }), { nil: null }),
        fc.integer({ min: -1000, max: 1000 }),
        (stateType, rowEpoch, offerEpoch, leaseSeconds, startsIn) => {
          const candidate = row({
            state_type: stateType,
            dispatch_epoch: rowEpoch,
            leased_until: leaseSeconds === null ? null : new Date(NOW.getTime() + leaseSeconds * 1000),
            next_scheduled_start_time: new Date(NOW.getTime() + startsIn * 1000),
          });
          const mayClaim =
            stateType === 'SCHEDULED' && offerEpoch >= rowEpoch && (leaseSeconds === null || leaseSeconds <= 0);
          expect(mayClaimOffer(candidate, { ...offer, epoch: offerEpoch }, NOW)).toBe(mayClaim);
        },
      ),
    );
  });

  it('refuses a run in no queue', () => {
    expect(mayClaimOffer(row({ work_queue_id: null }), offer, NOW)).toBe(false);
  });
});

describe('recordsPublication', () => {
  it('is whether the row, scheduled in the queue, still counts the message as its publication', () => {
    expect(recordsPublication(row({ empirical_policy: { retry_type: 'in_process' } }), offer, QUEUE)).toBe(true);
    expect(recordsPublication(row({ leased_until: new Date(NOW.getTime() + 1) }), offer, QUEUE)).toBe(true);
    expect(recordsPublication(row(), offer, 'q2')).toBe(false);
    expect(recordsPublication(row({ state_type: 'PENDING' }), offer, QUEUE)).toBe(false);
    expect(recordsPublication(row({ dispatch_epoch: 2 }), offer, QUEUE)).toBe(false);
    expect(recordsPublication(row({ state_id: 's2' }), offer, QUEUE)).toBe(false);
  });
});
