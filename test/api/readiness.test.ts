import { FaultProxy, NatsPublishFilter } from '../support/fault-proxy';
import { TestGateway } from '../support/gateway';
import { PrivateNatsServer } from '../../bench/nats-servers';

const READY = {
  status: 200,
  body: { status: 'ready', failing: [], checks: { postgres: 'ok', nats: 'ok', jetstream: 'ok' } },
};

/** Issue 13: `/api/ready` answers 200 only when Postgres, NATS and the JetStream API answer; `/api/health` stays Prefect's. */
describe('readiness', () => {
  it('is ready when everything answers, without credentials, and liveness stays Prefect’s `true`', async () => {
    const gw = await TestGateway.start({ API_AUTH_STRING: 'admin:secret' });
    try {
      expect(await gw.get('/ready')).toMatchObject(READY);
      expect(await gw.get('/health')).toMatchObject({ status: 200, body: true });
    } finally {
      await gw.stop();
    }
  });

  describe('Postgres cut off', () => {
    let proxy: FaultProxy;
    let gw: TestGateway;

    beforeAll(async () => {
      proxy = await FaultProxy.start({ host: '127.0.0.1', port: 5432 });
      gw = await TestGateway.start({}, { databasePort: proxy.port });
    });
    afterAll(async () => {
      proxy.restore();
      await gw.stop();
      await proxy.close();
    });

    it('answers 503 naming postgres within its timeout while health stays 200, and 200 once it is back', async () => {
      expect(await gw.get('/ready')).toMatchObject(READY);
      proxy.cut();
      const started = Date.now();
      const response = await gw.get('/ready');
      const took = Date.now() - started;
      expect(response).toMatchObject({
        status: 503,
        body: { status: 'not_ready', failing: ['postgres'], checks: { nats: 'ok', jetstream: 'ok' } },
      });
      expect(response.body.checks.postgres).not.toBe('ok');
      expect(took).toBeLessThan(2000);
      expect(await gw.get('/health')).toMatchObject({ status: 200, body: true });
      proxy.restore();
      const deadline = Date.now() + 15_000;
      while ((await gw.get('/ready')).status !== 200 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await gw.get('/ready')).toMatchObject(READY);
      console.log(`readiness with Postgres cut off: 503 in ${took} ms`);
    });
  });

  describe('the JetStream API not answering', () => {
    let proxy: FaultProxy;
    let gw: TestGateway;
    let silenceJetStream = false;

    beforeAll(async () => {
      const filter = new NatsPublishFilter((subject) =>
        silenceJetStream && subject.startsWith('$JS.API.') ? 'drop' : 'pass',
      );
      proxy = await FaultProxy.start({ host: '127.0.0.1', port: 4222 }, filter.filter);
      gw = await TestGateway.start({ NATS_URL: `nats://127.0.0.1:${proxy.port}` });
    });
    afterAll(async () => {
      await gw.stop();
      await proxy.close();
    });

    it('answers 503 naming jetstream while NATS itself answers', async () => {
      expect(await gw.get('/ready')).toMatchObject(READY);
      silenceJetStream = true;
      const response = await gw.get('/ready');
      silenceJetStream = false;
      expect(response).toMatchObject({
        status: 503,
        body: { status: 'not_ready', failing: ['jetstream'], checks: { postgres: 'ok', nats: 'ok' } },
      });
      expect(await gw.get('/ready')).toMatchObject(READY);
    });
  });

  describe('NATS stopped', () => {
    let nats: PrivateNatsServer;
    let gw: TestGateway;

    beforeAll(async () => {
      nats = await PrivateNatsServer.start();
      gw = await TestGateway.start({ NATS_URL: nats.url });
    });
    afterAll(async () => {
      await gw.stop();
      await nats.dispose();
    });

    it('answers 503 naming nats while the server is down, and 200 once it is back', async () => {
      expect(await gw.get('/ready')).toMatchObject(READY);
      await nats.stop();
      const response = await gw.get('/ready');
      expect(response).toMatchObject({
        status: 503,
        body: { status: 'not_ready', failing: ['nats', 'jetstream'], checks: { postgres: 'ok' } },
      });
      expect(await gw.get('/health')).toMatchObject({ status: 200, body: true });
      await nats.restart({ keepStore: true });
      const deadline = Date.now() + 15_000;
      while ((await gw.get('/ready')).status !== 200 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await gw.get('/ready')).toMatchObject(READY);
    });
  });
});
