import { deliveryAfterTransition, DeliveredRun } from './delivery-after-transition';

const DUE = new Date('2026-08-21T12:00:00.000Z');
const published: DeliveredRun = {
  state_type: 'SCHEDULED',
  state_id: 's1',
  next_scheduled_start_time: DUE,
  dispatched_state_id: 's1',
};

describe('deliveryAfterTransition', () => {
  it('a Late state of a published run carries its publication over, and keeps any lease', () => {
    expect(deliveryAfterTransition(published, { id: 's2', type: 'SCHEDULED' }, DUE)).toEqual({
      dispatched_state_id: 's2',
    });
  });

  it('a Late state of a run not published in its state leaves it to the dispatcher', () => {
    expect(
      deliveryAfterTransition({ ...published, dispatched_state_id: null }, { id: 's2', type: 'SCHEDULED' }, DUE),
    ).toEqual({});
    expect(
      deliveryAfterTransition({ ...published, dispatched_state_id: 's0' }, { id: 's2', type: 'SCHEDULED' }, DUE),
    ).toEqual({});
  });

  it('a claim ends the lease, and forgets whom the run was offered to', () => {
    expect(deliveryAfterTransition(published, { id: 's2', type: 'PENDING' }, null)).toEqual({
      leased_until: null,
      offered_to: null,
    });
  });

  it('a reschedule ends the lease and the publication', () => {
    expect(deliveryAfterTransition(published, { id: 's2', type: 'SCHEDULED' }, new Date(DUE.getTime() + 1))).toEqual({
      leased_until: null,
      offered_to: null,
    });
  });

  it('a run that was not SCHEDULED starts a new delivery', () => {
    expect(
      deliveryAfterTransition({ ...published, state_type: 'PAUSED' }, { id: 's2', type: 'SCHEDULED' }, DUE),
    ).toEqual({ leased_until: null, offered_to: null });
  });
});
