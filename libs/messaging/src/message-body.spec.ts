import { natsNames } from '@app/contracts';
import { decodeBody, outgoing, UnreadBody } from './message-body';
import { NatsClient } from './nats-connection';

describe('message bodies', () => {
  const names = natsNames('ns');

  it('writes a payload as JSON and reads it back', () => {
    const message = outgoing(names.poolDispatched('p'), { work_queue_ids: ['q1', 'q2'] });
    expect(message).toEqual({ subject: 'ns.dispatched.p', body: '{"work_queue_ids":["q1","q2"]}' });
    expect(decodeBody(Buffer.from(message.body!))).toEqual({ work_queue_ids: ['q1', 'q2'] });
  });

  it('writes no body for a subject that carries none, and reads an empty body as none', () => {
    expect(outgoing(names.poolChanged('p'), undefined)).toEqual({ subject: 'ns.pool-changed.p', body: undefined });
    expect(decodeBody(new Uint8Array())).toBeUndefined();
  });

  it('keeps a body unread as it arrived, though the buffer it came in is reused, and reads it when asked', () => {
    const buffer = Buffer.from('{"n":1}');
    const body = new UnreadBody(buffer);
    buffer.write('{"n":2}');
    expect(body.read()).toEqual({ n: 1 });
    expect(() => new UnreadBody(Buffer.from('{no')).read()).toThrow(SyntaxError);
  });

  it('fails the caller at once on a payload JSON cannot hold', () => {
    expect(() => outgoing(names.dispatchWake, { work_pool_id: 1n as unknown as string })).toThrow(TypeError);
  });

  it('pairs each subject with its payload type: `npm run typecheck` fails on a payload the subject does not carry', () => {
    const published: unknown[] = [];
    const publish: NatsClient['publish'] = (_subject, payload) => void published.push(payload);
    publish(names.dispatchWake, { work_pool_id: 'p' });
    // @ts-expect-error a wake names a pool, not queues
    publish(names.dispatchWake, { work_queue_ids: [] });
    // @ts-expect-error a pool-changed notice has no body
    publish(names.poolChanged('p'), { work_queue_ids: [] });
    // @ts-expect-error an event subject carries a PrefectEvent
    publish(names.event('prefect.flow-run.Running'), { work_pool_id: 'p' });
    // @ts-expect-error a queue subject carries a WorkerFlowRunResponse
    outgoing(names.queueSubject('p', 'q'), { work_pool_id: 'p' });
    expect(published).toHaveLength(4);
  });
});
