import { loadConfig } from '@app/config';
import { natsConnectionOptions } from './nats-connection';

describe('natsConnectionOptions', () => {
  it('lists every server of a comma-separated NATS_URL', () => {
    const options = natsConnectionOptions(loadConfig({ NATS_URL: 'nats://a:4222,nats://b:4222,nats://c:4222' }).nats);
    expect(options.servers).toEqual(['nats://a:4222', 'nats://b:4222', 'nats://c:4222']);
  });

  it('makes every connection (apps, claim transport, example worker) reconnect forever and notice a dead server', () => {
    const options = natsConnectionOptions(loadConfig({}).nats);
    expect(options.maxReconnectAttempts).toBe(-1);
    expect(options.reconnectTimeWait).toBeLessThanOrEqual(1000);
    expect((options.pingInterval ?? 0) * (options.maxPingOut ?? 0)).toBeLessThanOrEqual(30_000);
  });
});
