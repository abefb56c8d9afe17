import { PrefectEvent } from '@app/contracts';
import { readEventFilter } from '@app/domain';
import { EventPublisher, UnreadBody } from '@app/messaging';
import { Logger } from '@nestjs/common';
import { EventStream, OutgoingEvent } from './event-stream.service';

/** An EventStream fed by hand, as NATS would feed it, counting how many bodies were read. */
function stream() {
  let deliver: (body: UnreadBody<PrefectEvent>) => void = () => undefined;
  const publisher = { onEvent: (handler: typeof deliver) => (deliver = handler) } as unknown as EventPublisher;
  const events = new EventStream(publisher);
  events.onApplicationBootstrap();
  const counter = { reads: 0 };
  const arrive = (message: unknown) => {
    const body = new UnreadBody<PrefectEvent>(
      Buffer.from(typeof message === 'string' ? message : JSON.stringify(message)),
    );
    const read = body.read.bind(body);
    body.read = () => {
      counter.reads += 1;
      return read();
    };
    deliver(body);
  };
  return { events, arrive, counter };
}

const event = (n: number) => ({
  id: `00000000-0000-4000-8000-00000000000${n}`,
  // Within the backfill window (the last 15 minutes), to the microsecond.
  occurred: `${new Date(Date.now() - 60_000 + n * 1000).toISOString().slice(0, 23)}456Z`,
  event: 'prefect.flow-run.Scheduled',
  resource: { 'prefect.resource.id': `prefect.flow-run.${n}` },
  related: [],
  payload: { validated_state: { type: 'SCHEDULED' } },
});

/** Every event (a filter with no criteria but Prefect's window, wide open). */
const everything = readEventFilter(
  { occurred: { since: '2000-01-01T00:00:00Z', until: '2100-01-01T00:00:00Z' } },
  new Date(),
);

describe('EventStream', () => {
  beforeEach(() => jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined));
  afterEach(() => jest.restoreAllMocks());

  it('reads no event while no one subscribes, and backfills them as they would have been streamed live', () => {
    const live = stream();
    const liveSent: OutgoingEvent[] = [];
    live.events.subscribe(everything, false, (sent) => liveSent.push(sent));
    const lazy = stream();
    // Arrived a minute, 50 s and 40 s ago (backfill goes 15 minutes back).
    const start = Math.floor(Date.now() / 1000) * 1000 - 70_000;
    const now = jest.spyOn(Date, 'now');
    for (const n of [1, 2, 3]) {
      now.mockReturnValue(start + n * 10_000);
      live.arrive(event(n));
      lazy.arrive(event(n));
    }
    now.mockRestore();
    expect(lazy.counter.reads).toBe(0);

    const backfilled: OutgoingEvent[] = [];
    lazy.events.subscribe(everything, true, (sent) => backfilled.push(sent));
    expect(backfilled).toEqual(liveSent);
    // Stamped `received` as it arrived, not as it was read.
    expect(backfilled.map((sent) => sent.received)).toEqual(
      [1, 2, 3].map((n) => new Date(start + n * 10_000).toISOString().replace('Z', '000Z')),
    );
    // Read once each: a second subscriber's backfill reads nothing again.
    lazy.events.subscribe(everything, true, () => undefined);
    expect(lazy.counter.reads).toBe(3);
  });

  it('drops what is not an event (not JSON, or not shaped as one), streamed or backfilled, with a warning', () => {
    const { events, arrive } = stream();
    arrive('{not json');
    arrive({ id: 'x' });
    arrive(event(1));
    const backfilled: OutgoingEvent[] = [];
    events.subscribe(everything, true, (sent) => backfilled.push(sent));
    arrive('[]');
    arrive(event(2));
    expect(backfilled.map((sent) => sent.id)).toEqual([event(1).id, event(2).id]);
    expect(Logger.prototype.warn).toHaveBeenCalledTimes(3);
  });
});
