import type { AddressInfo } from 'node:net';
import { TestGateway } from '../support/gateway';
import { TestScheduler } from '../support/scheduler';

/** The gateway listening on a real loopback port, with its scheduler, for clients that speak real HTTP. */
export interface LiveGateway {
  gateway: TestGateway;
  /** What `PREFECT_API_URL` should be, e.g. `http://127.0.0.1:41234/api`. */
  apiUrl: string;
  port: number;
  stop(): Promise<void>;
}

/** `overrides` are settings of both apps (e.g. a fast foreman: `{ FOREMAN_LOOP_SECONDS: '1' }`). */
export async function startLiveGateway(overrides: Record<string, string> = {}): Promise<LiveGateway> {
  const gateway = await TestGateway.start(overrides);
  // Due runs reach the poll through the bus, which the scheduler feeds.
  const scheduler = await TestScheduler.start(gateway.config);
  await gateway.app.listen(0, '127.0.0.1');
  const { port } = gateway.app.getHttpServer().address() as AddressInfo;
  return {
    gateway,
    port,
    apiUrl: `http://127.0.0.1:${port}/api`,
    stop: async () => {
      await scheduler.stop();
      await gateway.stop();
    },
  };
}
