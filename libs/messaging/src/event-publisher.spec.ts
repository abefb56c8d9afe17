import { PrefectEvent } from '@app/contracts';
import { Logger } from '@nestjs/common';
import { EventPublisher, MAX_PENDING_EVENTS } from './event-publisher';
import { OutgoingMessage } from './message-body';
import { NatsClient } from './nats-connection';

/** A NATS client that is down until `reconnect()`, recording what reached the server (confirmed by a flush). */
function fakeNats() {
  const state = {
    connected: false,
    buffered: [] as string[],
    received: [] as string[],
    reconnect: () => undefined as void,
  };
  const client = {
    names: { event: (name: string) => `ns.events.${name}` },
    get isConnected() {
      return state.connected;
    },
    onReconnect: (listener: () => void) => {
      state.reconnect = () => {
        state.connected = true;
        listener();
      };
    },
    send: (message: OutgoingMessage) => state.buffered.push((JSON.parse(message.body!) as PrefectEvent).id),
    connection: {
      isClosed: () => false,
      flush: () => {
        if (!state.connected) return Promise.reject(new Error('connection disconnected'));
        state.received.push(...state.buffered.splice(0));
        return Promise.resolve();
      },
    },
  };
  return { state, client: client as unknown as NatsClient };
}

const event = (id: number) => ({ id: String(id), event: 'prefect.flow-run.Running' }) as PrefectEvent;
const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

describe('EventPublisher', () => {
  beforeAll(() => jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined));
  afterAll(() => jest.restoreAllMocks());

  it('keeps events while NATS is down and publishes them oldest first once it is back', async () => {
    const { state, client } = fakeNats();
    const publisher = new EventPublisher(client);
    publisher.publish([event(1), event(2)]);
    publisher.publish([event(3)]);
    await settle();
    expect(state.received).toEqual([]);
    state.buffered = []; // what the NATS client buffered while disconnected is discarded on reconnection
    state.reconnect();
    await settle();
    expect(state.received).toEqual(['1', '2', '3']);
    await publisher.beforeApplicationShutdown();
  });

  it(`keeps at most ${MAX_PENDING_EVENTS} events, dropping the oldest`, async () => {
    const { state, client } = fakeNats();
    const publisher = new EventPublisher(client);
    publisher.publish(Array.from({ length: MAX_PENDING_EVENTS + 5 }, (_, i) => event(i)));
    await settle();
    state.buffered = [];
    state.reconnect();
    await settle();
    expect(state.received).toHaveLength(MAX_PENDING_EVENTS);
    expect(state.received[0]).toBe('5');
    expect(state.received[MAX_PENDING_EVENTS - 1]).toBe(String(MAX_PENDING_EVENTS + 4));
    await publisher.beforeApplicationShutdown();
  });
});
