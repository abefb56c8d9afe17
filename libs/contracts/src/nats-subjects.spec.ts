import { natsNames } from './nats-subjects';

describe('natsNames().event', () => {
  it('keeps Prefect event names and makes free-text state names safe as subject tokens', () => {
    const { event } = natsNames('ns');
    expect(event('prefect.work-queue.ready')).toBe('ns.events.prefect.work-queue.ready');
    expect(event('prefect.flow-run.Awaiting Retry')).toBe('ns.events.prefect.flow-run.Awaiting_Retry');
    expect(event('prefect.flow-run.a*b>c')).toBe('ns.events.prefect.flow-run.a_b_c');
    expect(event('prefect.flow-run.')).toBe('ns.events.prefect.flow-run._');
  });
});
