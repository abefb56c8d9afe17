import { INestApplicationContext, Injectable, Logger } from '@nestjs/common';

/**
 * The process is going away: set at the first SIGTERM or SIGINT, before anything closes. Readiness answers 503 from
 * then on and long polls stop waiting, so that what is in flight is answered while the listener is still open.
 */
@Injectable()
export class ShutdownDrain {
  private started = false;
  private readonly listeners: (() => void)[] = [];

  get draining(): boolean {
    return this.started;
  }

  /** Called once when draining begins (at once if it already has). */
  onDrain(listener: () => void): void {
    if (this.started) listener();
    else this.listeners.push(listener);
  }

  begin(): void {
    if (this.started) return;
    this.started = true;
    this.listeners.forEach((listener) => listener());
  }
}

/**
 * On SIGTERM or SIGINT: drain (readiness turns 503, long polls answer with what they have) for `drainSeconds` while
 * still serving, so a load balancer stops sending new requests; then close the app (the HTTP server stops accepting
 * and lets in-flight requests finish; the shutdown hooks drain NATS and close Postgres), then exit 0. A second
 * signal while closing exits at once.
 */
export function closeOnSignals(app: INestApplicationContext, name: string, drainSeconds = 0): void {
  const logger = new Logger(name);
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) process.exit(1);
    closing = true;
    logger.log(`${signal} received: draining for ${drainSeconds} s, then shutting down`);
    app.get(ShutdownDrain, { strict: false }).begin();
    setTimeout(() => {
      app.close().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error(`shutdown failed: ${String(error)}`);
          process.exit(1);
        },
      );
    }, drainSeconds * 1000);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
