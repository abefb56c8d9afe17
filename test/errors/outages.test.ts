import { natsNames } from '@app/contracts';
import { STATUS_HEADER } from '@app/messaging';
import { connect } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import { FaultProxy } from '../support/fault-proxy';
import { TestGateway, TestResponse } from '../support/gateway';
import { PrivateNatsServer } from '../../bench/nats-servers';

const UNAVAILABLE = {
  status: 503,
  body: { exception_message: 'Service Unavailable' },
  headers: expect.objectContaining({ 'retry-after': '2' }),
};

/** Polls `attempt` until it answers `status`; returns how long that took. */
async function until(attempt: () => Promise<TestResponse>, status: number, timeoutMs = 20_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    const response = await attempt();
    if (response.status === status) return Date.now() - started;
    if (Date.now() - started > timeoutMs) {
      throw new Error(`still ${response.status} after ${timeoutMs} ms: ${response.text}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Issue 10: during an outage of Postgres or NATS the gateway answers Prefect's 503 with Retry-After, which
 * Prefect's client retries (it retries only 408, 429, 502 and 503), and it serves again once the outage ends.
 */
describe('outages answer 503 with Retry-After', () => {
  describe('Postgres unreachable', () => {
    let proxy: FaultProxy;
    let gw: TestGateway;
    let runId: string;
    let poolId: string;

    beforeAll(async () => {
      proxy = await FaultProxy.start({ host: '127.0.0.1', port: 5432 });
      gw = await TestGateway.start({}, { databasePort: proxy.port });
      poolId = (await gw.post('/work_pools/', { name: 'pool', type: 'process' })).body.id;
      const flowId = (await gw.post('/flows/', { name: 'flow' })).body.id;
      const deploymentId = (await gw.post('/deployments/', { name: 'dep', flow_id: flowId, work_pool_name: 'pool' }))
        .body.id;
      runId = (await gw.post(`/deployments/${deploymentId}/create_flow_run`, { state: { type: 'SCHEDULED' } })).body.id;
    });
    afterAll(async () => {
      proxy.restore();
      await gw.stop();
      await proxy.close();
    });

    const poll = () => gw.request('POST', '/work_pools/pool/get_scheduled_flow_runs', {});
    const claim = () => gw.request('POST', `/flow_runs/${runId}/set_state`, { state: { type: 'PENDING' } });

    it('a poll and set_state answer 503 with Retry-After while it is cut off, and work again once it is back', async () => {
      proxy.cut();
      for (const attempt of [
        poll,
        claim,
        () => gw.get(`/flow_runs/${runId}`),
        () => gw.post('/flows/', { name: 'another' }),
      ]) {
        expect(await attempt()).toMatchObject(UNAVAILABLE);
      }
      proxy.restore();
      const recovery = await until(poll, 200);
      expect((await claim()).body).toMatchObject({ status: 'ACCEPT' });
      expect((await gw.get(`/flow_runs/${runId}`)).body).toMatchObject({ state_type: 'PENDING' });
      console.log(`Postgres outage: serving again ${recovery} ms after it came back`);
    });

    it('a NATS claim, single or batch, answers 503 while it is cut off, as over HTTP, and is answered again once it is back', async () => {
      const nc = await connect({ servers: gw.config.nats.url });
      // A message this run never had: once Postgres is back, the claim is refused (ABORT), not failed.
      const request = JSON.stringify({
        flow_run_id: runId,
        publication: `${runId}:${randomUUID()}:1`,
        transition_id: randomUUID(),
      });
      const natsClaim = async () => {
        const reply = await nc.request(natsNames(gw.config.nats.namespace).claim(poolId), request, { timeout: 10_000 });
        return { status: Number(reply.headers?.get(STATUS_HEADER)), body: reply.json<unknown>() };
      };
      // The same claim in a batch: a failure of the server is the whole request's (the worker resends the batch).
      const natsBatchClaim = async () => {
        const subject = natsNames(gw.config.nats.namespace).claims(poolId);
        const reply = await nc.request(subject, `{"claims":[${request}]}`, { timeout: 10_000 });
        return { status: Number(reply.headers?.get(STATUS_HEADER)), body: reply.json<unknown>() };
      };
      try {
        proxy.cut();
        expect(await natsClaim()).toEqual({ status: 503, body: { exception_message: 'Service Unavailable' } });
        expect(await natsBatchClaim()).toEqual({ status: 503, body: { exception_message: 'Service Unavailable' } });
        proxy.restore();
        await until(poll, 200);
        expect(await natsClaim()).toMatchObject({ status: 200, body: { status: 'ABORT' } });
        expect(await natsBatchClaim()).toMatchObject({
          status: 200,
          body: { answers: [{ status: 200, body: { status: 'ABORT' } }] },
        });
      } finally {
        await nc.close();
      }
    });
  });

  describe('NATS down', () => {
    let nats: PrivateNatsServer;
    let gw: TestGateway;

    beforeAll(async () => {
      nats = await PrivateNatsServer.start();
      gw = await TestGateway.start({ NATS_URL: nats.url });
      await gw.post('/work_pools/', { name: 'pool', type: 'process' });
    });
    afterAll(async () => {
      await gw.stop();
      await nats.dispose();
    });

    const poll = () => gw.request('POST', '/work_pools/pool/get_scheduled_flow_runs', {});

    it.each([true, false])(
      'a poll answers 503 with Retry-After while NATS is stopped, never 500, and [] again once it is back (store kept: %s)',
      async (keepStore) => {
        expect(await poll()).toMatchObject({ status: 200, body: [] });
        await nats.stop();
        const started = Date.now();
        expect(await poll()).toMatchObject(UNAVAILABLE);
        const firstAnswer = Date.now() - started;
        expect(await poll()).toMatchObject(UNAVAILABLE);
        await nats.restart({ keepStore });
        const recovery = await until(poll, 200);
        expect((await poll()).body).toEqual([]);
        console.log(
          `NATS outage (store kept: ${keepStore}): first poll answered 503 in ${firstAnswer} ms; serving again ${recovery} ms after it came back`,
        );
      },
    );
  });
});
