import { Fixtures, GatewayProcess } from '../support/delivery';
import { TestGateway } from '../support/gateway';
import { AppProcess } from '../support/processes';
import { TestScheduler } from '../support/scheduler';

/**
 * The example NATS worker looks its pool up over HTTP before it drains NATS: behind a gateway that requires basic auth
 * (`API_AUTH_STRING`), it authenticates with Prefect's client setting `PREFECT_API_AUTH_STRING`, as Prefect's own
 * clients do (`npm run build` first).
 */
const AUTH_STRING = 'admin:s3cret';

describe('the example NATS worker behind HTTP basic auth', () => {
  let gw: TestGateway;
  let scheduler: TestScheduler;
  let guarded: GatewayProcess;

  beforeAll(async () => {
    gw = await TestGateway.start();
    scheduler = await TestScheduler.start(gw.config);
    guarded = await GatewayProcess.start(gw.config, { API_AUTH_STRING: AUTH_STRING });
  });
  afterAll(async () => {
    await guarded.process.stop();
    await scheduler.stop();
    await gw.stop();
  });

  function worker(env: Record<string, string>): AppProcess {
    const args = [
      '--pool',
      'guarded',
      '--api',
      guarded.url,
      '--nats',
      gw.config.nats.url,
      '--namespace',
      gw.config.nats.namespace,
      '--once',
    ];
    return AppProcess.start('nats-worker', env, args);
  }

  it('is refused without the auth string and claims its run with it', async () => {
    const fx = await Fixtures.create(gw);
    await fx.pool('guarded');
    const run = await fx.run('guarded');

    const anonymous = worker({});
    expect((await anonymous.exited).code).toBe(1);
    expect(anonymous.lines.join('\n')).toContain('HTTP 401');

    const authenticated = worker({ PREFECT_API_AUTH_STRING: AUTH_STRING });
    try {
      await authenticated.waitForLine(new RegExp(`claimed flow run.*${run.id}`), 20_000);
    } finally {
      await authenticated.stop();
    }
  });
});
