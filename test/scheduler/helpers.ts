import type { PrefectEvent } from '@app/contracts';
import { NatsClient } from '@app/messaging';
import { connect, NatsConnection } from '@nats-io/transport-node';
import type { INestApplicationContext } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { TestGateway } from '../support/gateway';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with the probe's first truthy answer; fails naming `what` once `timeoutMs` has passed. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Plain SQL on the gateway's database, for setting up what only time would otherwise produce. */
export function sql<T = any>(gw: TestGateway, text: string, params: unknown[] = []): Promise<T[]> {
  return gw.app.get(DataSource).query(text, params);
}

/** Every event published in the gateway's namespace, as a raw NATS subscriber sees them. */
export class EventLog {
  readonly events: PrefectEvent[] = [];
  /** Subjects that did not spell `<ns>.events.<event name>`: must stay empty. */
  readonly misrouted: string[] = [];

  private constructor(private readonly nc: NatsConnection) {}

  static async subscribe(gw: TestGateway): Promise<EventLog> {
    const nc = await connect({ servers: gw.config.nats.url });
    const log = new EventLog(nc);
    nc.subscribe(`${gw.config.nats.namespace}.events.>`, {
      callback: (error, msg) => {
        if (error) return;
        const event = msg.json<PrefectEvent>();
        if (msg.subject !== `${gw.config.nats.namespace}.events.${event.event}`) log.misrouted.push(msg.subject);
        log.events.push(event);
      },
    });
    await nc.flush();
    return log;
  }

  /** Events about `resourceId` (a pool's, queue's or deployment's id), oldest first. */
  about(resourceId: string): PrefectEvent[] {
    return this.events.filter((event) => event.resource['prefect.resource.id'].endsWith(`.${resourceId}`));
  }

  /** Event names about `resourceId`, oldest first. */
  namesAbout(resourceId: string): string[] {
    return this.about(resourceId).map((event) => event.event);
  }

  /**
   * Waits until everything the given apps published has reached this subscriber: each publisher's connection is
   * flushed (the server has routed its messages), then this one (they have been delivered).
   */
  async settle(...apps: INestApplicationContext[]): Promise<void> {
    for (const app of apps) await app.get(NatsClient).connection.flush();
    await this.nc.flush();
  }

  close(): Promise<void> {
    return this.nc.close();
  }
}
