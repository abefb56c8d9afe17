import { plainToInstance, Transform } from 'class-transformer';
import { IsIn, IsInt, IsNotEmpty, IsString, Matches, Max, Min, validateSync } from 'class-validator';

const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;

/**
 * Every setting either app reads. Built once at boot from the environment; nothing else reads
 * `process.env`. Defaults make `npm start` work with no configuration on the project's machine kind.
 */
export class AppConfig {
  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/prefect_dispatch';

  @Matches(/^(nats|tls|ws|wss):\/\/[^\s,]+(,(nats|tls|ws|wss):\/\/[^\s,]+)*$/, {
    message: 'NATS_URL must be one or more comma-separated nats:// URLs',
  })
  NATS_URL = 'nats://127.0.0.1:4222';

  // Becomes a token of subject, stream and consumer names, so it must be a single NATS token.
  @Matches(/^[A-Za-z0-9_-]+$/, { message: 'NATS_NAMESPACE must contain only letters, digits, "_" and "-"' })
  NATS_NAMESPACE = 'prefect';

  @IsString()
  @IsNotEmpty()
  HOST = '127.0.0.1';

  @Transform(toInt)
  @IsInt({ message: 'PORT must be an integer' })
  @Min(0)
  @Max(65535)
  PORT = 4200;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  /**
   * How long a run handed to one poller (HTTP response or NATS delivery) stays reserved for it. Unclaimed
   * after this, it is delivered again. Also the JetStream AckWait of every queue consumer.
   */
  @Transform(toInt)
  @IsInt({ message: 'DELIVERY_LEASE_SECONDS must be an integer' })
  @Min(1)
  DELIVERY_LEASE_SECONDS = 30;

  /**
   * Runs due within this many seconds are put on the bus. At least the stock worker's 10 s prefetch, so its
   * polls (`scheduled_before = now + 10 s`) are answered from NATS alone.
   */
  @Transform(toInt)
  @IsInt({ message: 'DISPATCH_HORIZON_SECONDS must be an integer' })
  @Min(10, { message: 'DISPATCH_HORIZON_SECONDS must be at least 10 (the Prefect worker prefetch)' })
  DISPATCH_HORIZON_SECONDS = 12;

  /**
   * The dispatcher wakes on every change and at every due time it knows of; this is only its safety net (a
   * lost wake-up signal costs at most this long). Bounds re-delivery after a fault: lease + this interval.
   */
  @Transform(toInt)
  @IsInt({ message: 'DISPATCH_INTERVAL_MS must be an integer' })
  @Min(50)
  DISPATCH_INTERVAL_MS = 2000;

  /** Prefect's `PREFECT_SERVER_API_DEFAULT_LIMIT`: default and maximum page size. */
  @Transform(toInt)
  @IsInt({ message: 'DEFAULT_LIMIT must be an integer' })
  @Min(1)
  DEFAULT_LIMIT = 200;
}

export class ConfigError extends Error {}

/** Validates an environment into an {@link AppConfig}; throws a {@link ConfigError} naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  const known = Object.keys(new AppConfig());
  const provided = Object.fromEntries(
    known.filter((key) => env[key] !== undefined && env[key] !== '').map((key) => [key, env[key]]),
  );
  const config = plainToInstance(AppConfig, provided, { exposeDefaultValues: true });
  const errors = validateSync(config, { whitelist: true, forbidUnknownValues: true });
  if (errors.length > 0) {
    const lines = errors.map((e) => `  ${e.property}: ${Object.values(e.constraints ?? {}).join('; ')}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return config;
}
