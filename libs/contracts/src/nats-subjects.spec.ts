import { claimSubjectPoolId } from './dto/claim.dto';
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

describe('natsNames().claim', () => {
  it('is one subject per pool, and the pool id is read back from it', () => {
    const subject = natsNames('ns').claim('7b0c6d1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e');
    expect(subject).toBe('ns.api.flow-runs.claim.7b0c6d1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e');
    expect(claimSubjectPoolId(subject)).toBe('7b0c6d1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e');
  });
});

describe('natsNames().claims', () => {
  it('is one batch subject per pool, apart from the single claim subject, and the pool id is read back from it', () => {
    const subject = natsNames('ns').claims('7b0c6d1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e');
    expect(subject).toBe('ns.api.flow-runs.claims.7b0c6d1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e');
    expect(claimSubjectPoolId(subject)).toBe('7b0c6d1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e');
  });
});
