import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  Validate,
  ValidationArguments,
  ValidatorConstraint,
  ValidatorConstraintInterface,
  validateSync,
} from 'class-validator';
import { accessSync, constants, statSync } from 'node:fs';

const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;

const toNumber = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?(\d+\.?\d*|\.\d+)$/.test(value.trim()) ? Number(value) : value;

const toBoolean = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^(true|false)$/i.test(value.trim()) ? value.trim().toLowerCase() === 'true' : value;

/** Checked at boot, so a missing creds or certificate file stops the app at once rather than at its first connection. */
@ValidatorConstraint({ name: 'readableFile' })
class ReadableFile implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    try {
      accessSync(String(value), constants.R_OK);
      return statSync(String(value)).isFile();
    } catch {
      return false;
    }
  }

  defaultMessage(args: ValidationArguments): string {
    return `${args.property} must name a readable file (${String(args.value)} is not one)`;
  }
}

const NATS_AUTH_METHODS = ['NATS_CREDS', 'NATS_TOKEN', 'NATS_USER'] as const;

/** A NATS connection authenticates one way; a second method set alongside would be silently ignored by nats.js. */
@ValidatorConstraint({ name: 'oneNatsAuthMethod' })
class OneNatsAuthMethod implements ValidatorConstraintInterface {
  validate(_value: unknown, args: ValidationArguments): boolean {
    return this.others(args).length === 0;
  }

  defaultMessage(args: ValidationArguments): string {
    return `${args.property} cannot be combined with ${this.others(args).join(', ')}: set one NATS authentication method`;
  }

  private others(args: ValidationArguments): string[] {
    const config = args.object as Record<string, unknown>;
    return NATS_AUTH_METHODS.filter((key) => key !== args.property && config[key] !== undefined);
  }
}

@ValidatorConstraint({ name: 'setTogether' })
class SetTogether implements ValidatorConstraintInterface {
  validate(_value: unknown, args: ValidationArguments): boolean {
    return (args.object as Record<string, unknown>)[args.constraints[0] as string] !== undefined;
  }

  defaultMessage(args: ValidationArguments): string {
    return `${args.property} needs ${String(args.constraints[0])} as well`;
  }
}

/**
 * nats.js ignores the URL's scheme: it speaks TLS when the server offers it and insists on it only when given TLS
 * options, which connections get for `tls://` URLs. A certificate setting beside a `nats://` URL would not make TLS required.
 */
@ValidatorConstraint({ name: 'needsTlsUrl' })
class NeedsTlsUrl implements ValidatorConstraintInterface {
  validate(_value: unknown, args: ValidationArguments): boolean {
    return natsRequiresTls((args.object as ConfigEnv).NATS_URL);
  }

  defaultMessage(args: ValidationArguments): string {
    return `${args.property} needs tls:// URLs in NATS_URL`;
  }
}

/** One connection has one TLS setting for all its servers. */
@ValidatorConstraint({ name: 'oneTlsMode' })
class OneTlsMode implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    const tls = String(value)
      .split(',')
      .map((url) => url.startsWith('tls://'));
    return tls.every((each) => each === tls[0]);
  }

  defaultMessage(): string {
    return 'NATS_URL must not mix tls:// URLs with others';
  }
}

/** Whether connections to NATS must be encrypted: NATS_URL uses `tls://`. */
export function natsRequiresTls(natsUrl: string): boolean {
  return natsUrl.startsWith('tls://');
}

/**
 * Every environment variable either app reads, under its own name, with its default and its validation. Read once
 * at boot by {@link readConfigEnv}; apps get it regrouped as an {@link AppConfig}, never this class. Defaults make
 * `npm start` work with no configuration on the project's machine kind.
 */
export class ConfigEnv {
  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/prefect_dispatch';

  @Matches(/^(nats|tls|ws|wss):\/\/[^\s,]+(,(nats|tls|ws|wss):\/\/[^\s,]+)*$/, {
    message: 'NATS_URL must be one or more comma-separated nats:// URLs',
  })
  @Validate(OneTlsMode)
  NATS_URL = 'nats://127.0.0.1:4222';

  /**
   * Replicas of every JetStream stream and consumer the apps create (1 on a single server; 3 or 5 on a cluster,
   * which then keeps the bus through the loss of 1 or 2 servers). A stream created with other replicas is updated
   * in place on its next use, keeping its messages.
   */
  @Transform(toInt)
  @IsIn([1, 3, 5], { message: 'NATS_STREAM_REPLICAS must be 1, 3 or 5' })
  NATS_STREAM_REPLICAS: 1 | 3 | 5 = 1;

  // Becomes a token of subject, stream and consumer names, so it must be a single NATS token.
  @Matches(/^[A-Za-z0-9_-]+$/, { message: 'NATS_NAMESPACE must contain only letters, digits, "_" and "-"' })
  NATS_NAMESPACE = 'prefect';

  /** A NATS credentials file (user JWT and nkey seed), as `nsc` writes it. */
  @IsOptional()
  @Validate(ReadableFile)
  @Validate(OneNatsAuthMethod)
  NATS_CREDS: string | undefined = undefined;

  @IsOptional()
  @Validate(OneNatsAuthMethod)
  NATS_TOKEN: string | undefined = undefined;

  @IsOptional()
  @Validate(SetTogether, ['NATS_PASSWORD'])
  @Validate(OneNatsAuthMethod)
  NATS_USER: string | undefined = undefined;

  @IsOptional()
  @Validate(SetTogether, ['NATS_USER'])
  NATS_PASSWORD: string | undefined = undefined;

  /** CA certificate(s) (PEM) the NATS server's certificate must chain to; without it, the system's CAs. */
  @IsOptional()
  @Validate(ReadableFile)
  @Validate(NeedsTlsUrl)
  NATS_TLS_CA: string | undefined = undefined;

  /** Client certificate and key (PEM) for servers that verify clients (mutual TLS). */
  @IsOptional()
  @Validate(ReadableFile)
  @Validate(NeedsTlsUrl)
  @Validate(SetTogether, ['NATS_TLS_KEY'])
  NATS_TLS_CERT: string | undefined = undefined;

  @IsOptional()
  @Validate(ReadableFile)
  @Validate(NeedsTlsUrl)
  @Validate(SetTogether, ['NATS_TLS_CERT'])
  NATS_TLS_KEY: string | undefined = undefined;

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
   * The longest a run handed to one poller (HTTP response or NATS delivery) stays reserved for it. Unclaimed
   * after this, it is delivered again. The JetStream AckWait of every queue consumer; an HTTP poll's lease is
   * shorter (DELIVERY_CLAIM_WINDOW_MS).
   */
  @Transform(toInt)
  @IsInt({ message: 'DELIVERY_LEASE_SECONDS must be an integer' })
  @Min(1)
  DELIVERY_LEASE_SECONDS = 30;

  /**
   * An HTTP poll leases what it returns for this long plus DELIVERY_CLAIM_WINDOW_PER_RUN_MS per run returned (at
   * most DELIVERY_LEASE_SECONDS): long enough for a stock worker to claim what it takes, short enough that what it
   * leaves (beyond its `--limit`, or a `prefect work-pool preview`) is back before a stock worker polls again.
   */
  @Transform(toInt)
  @IsInt({ message: 'DELIVERY_CLAIM_WINDOW_MS must be an integer' })
  @Min(100)
  DELIVERY_CLAIM_WINDOW_MS = 2000;

  /** See DELIVERY_CLAIM_WINDOW_MS: a stock worker reads each run's deployment before its first claim. */
  @Transform(toInt)
  @IsInt({ message: 'DELIVERY_CLAIM_WINDOW_PER_RUN_MS must be an integer' })
  @Min(0)
  DELIVERY_CLAIM_WINDOW_PER_RUN_MS = 300;

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

  /**
   * How often the scheduler compares the runs Postgres records as waiting on the bus with what JetStream holds,
   * and publishes again the ones the bus lost (also at once after a NATS reconnect). Bounds re-delivery after a
   * purge, a lost stream or consumer, or a server restarted empty.
   */
  @Transform(toNumber)
  @IsNumber({}, { message: 'DISPATCH_RECONCILE_SECONDS must be a number' })
  @Min(0.05)
  DISPATCH_RECONCILE_SECONDS = 10;

  /** Prefect's `PREFECT_SERVER_API_DEFAULT_LIMIT`: default and maximum page size. */
  @Transform(toInt)
  @IsInt({ message: 'DEFAULT_LIMIT must be an integer' })
  @Min(1)
  DEFAULT_LIMIT = 200;

  /** Prefect's foreman service (`PREFECT_SERVER_SERVICES_FOREMAN_ENABLED`): off leaves every status as the API sets it. */
  @Transform(toBoolean)
  @IsBoolean({ message: 'FOREMAN_ENABLED must be true or false' })
  FOREMAN_ENABLED = true;

  /** How often the foreman marks silent workers OFFLINE and stale pools, deployments and queues NOT_READY. */
  @Transform(toNumber)
  @IsNumber({}, { message: 'FOREMAN_LOOP_SECONDS must be a number' })
  @Min(0.05)
  FOREMAN_LOOP_SECONDS = 15;

  /** A worker goes OFFLINE after this many of its heartbeat intervals without a heartbeat. */
  @Transform(toInt)
  @IsInt({ message: 'FOREMAN_INACTIVITY_HEARTBEAT_MULTIPLE must be an integer' })
  @Min(1)
  FOREMAN_INACTIVITY_HEARTBEAT_MULTIPLE = 3;

  /** The heartbeat interval assumed for workers that never reported theirs. */
  @Transform(toInt)
  @IsInt({ message: 'FOREMAN_FALLBACK_HEARTBEAT_INTERVAL_SECONDS must be an integer' })
  @Min(1)
  FOREMAN_FALLBACK_HEARTBEAT_INTERVAL_SECONDS = 30;

  /** A READY deployment whose last poll (and its queue's) is older than this becomes NOT_READY. */
  @Transform(toInt)
  @IsInt({ message: 'FOREMAN_DEPLOYMENT_LAST_POLLED_TIMEOUT_SECONDS must be an integer' })
  @Min(1)
  FOREMAN_DEPLOYMENT_LAST_POLLED_TIMEOUT_SECONDS = 60;

  /** A READY work queue not polled for this long becomes NOT_READY. */
  @Transform(toInt)
  @IsInt({ message: 'FOREMAN_WORK_QUEUE_LAST_POLLED_TIMEOUT_SECONDS must be an integer' })
  @Min(1)
  FOREMAN_WORK_QUEUE_LAST_POLLED_TIMEOUT_SECONDS = 60;

  /** Prefect's late-runs service (`PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED`): off, overdue runs stay `Scheduled`. */
  @Transform(toBoolean)
  @IsBoolean({ message: 'LATE_RUNS_ENABLED must be true or false' })
  LATE_RUNS_ENABLED = true;

  /** How often overdue runs are looked for. */
  @Transform(toNumber)
  @IsNumber({}, { message: 'LATE_RUNS_LOOP_SECONDS must be a number' })
  @Min(0.05)
  LATE_RUNS_LOOP_SECONDS = 5;

  /** A `Scheduled` run this many seconds past its start time is marked `Late`. */
  @Transform(toInt)
  @IsInt({ message: 'LATE_RUNS_AFTER_SECONDS must be an integer' })
  @Min(0)
  LATE_RUNS_AFTER_SECONDS = 15;

  /**
   * Prefect's `PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS`: a run that finds every slot of its
   * deployment's concurrency limit taken is rescheduled (`AwaitingConcurrencySlot`) this far ahead.
   */
  @Transform(toInt)
  @IsInt({ message: 'DEPLOYMENT_CONCURRENCY_SLOT_WAIT_SECONDS must be an integer' })
  @Min(0)
  DEPLOYMENT_CONCURRENCY_SLOT_WAIT_SECONDS = 30;

  /**
   * Prefect's `PREFECT_SERVER_CONCURRENCY_INITIAL_DEPLOYMENT_LEASE_DURATION`: how long a deployment concurrency
   * slot stays held without renewal, unless the deployment sets `concurrency_options.grace_period_seconds`.
   */
  @Transform(toInt)
  @IsInt({ message: 'DEPLOYMENT_CONCURRENCY_LEASE_SECONDS must be an integer' })
  @Min(1)
  DEPLOYMENT_CONCURRENCY_LEASE_SECONDS = 300;

  /** Prefect's scheduler service (`PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED`): off, schedules create no runs. */
  @Transform(toBoolean)
  @IsBoolean({ message: 'SCHEDULER_ENABLED must be true or false' })
  SCHEDULER_ENABLED = true;

  /** How often every deployment's schedules are topped up (`..._SCHEDULER_LOOP_SECONDS`). */
  @Transform(toNumber)
  @IsNumber({}, { message: 'SCHEDULER_LOOP_SECONDS must be a number' })
  @Min(0.05)
  SCHEDULER_LOOP_SECONDS = 60;

  /** How often recently created or changed deployments are scheduled (`..._RECENT_DEPLOYMENTS_LOOP_SECONDS`). */
  @Transform(toNumber)
  @IsNumber({}, { message: 'SCHEDULER_RECENT_DEPLOYMENTS_LOOP_SECONDS must be a number' })
  @Min(0.05)
  SCHEDULER_RECENT_DEPLOYMENTS_LOOP_SECONDS = 5;

  /** Deployments read and scheduled together (`..._DEPLOYMENT_BATCH_SIZE`). */
  @Transform(toInt)
  @IsInt({ message: 'SCHEDULER_DEPLOYMENT_BATCH_SIZE must be an integer' })
  @Min(1)
  SCHEDULER_DEPLOYMENT_BATCH_SIZE = 100;

  /** At most this many runs per schedule are created ahead (`..._MAX_RUNS`). */
  @Transform(toInt)
  @IsInt({ message: 'SCHEDULER_MAX_RUNS must be an integer' })
  @Min(1)
  SCHEDULER_MAX_RUNS = 100;

  /** At least this many runs per schedule are kept ahead (`..._MIN_RUNS`). */
  @Transform(toInt)
  @IsInt({ message: 'SCHEDULER_MIN_RUNS must be an integer' })
  @Min(0)
  SCHEDULER_MIN_RUNS = 3;

  /** No run is created further ahead than this (`..._MAX_SCHEDULED_TIME`, 100 days). */
  @Transform(toNumber)
  @IsNumber({}, { message: 'SCHEDULER_MAX_SCHEDULED_TIME_SECONDS must be a number' })
  @Min(0)
  SCHEDULER_MAX_SCHEDULED_TIME_SECONDS = 100 * 86_400;

  /** Runs are created at least this far ahead (`..._MIN_SCHEDULED_TIME`, 1 hour). */
  @Transform(toNumber)
  @IsNumber({}, { message: 'SCHEDULER_MIN_SCHEDULED_TIME_SECONDS must be a number' })
  @Min(0)
  SCHEDULER_MIN_SCHEDULED_TIME_SECONDS = 3600;

  /** Runs inserted per statement (`..._INSERT_BATCH_SIZE`). */
  @Transform(toInt)
  @IsInt({ message: 'SCHEDULER_INSERT_BATCH_SIZE must be an integer' })
  @Min(1)
  SCHEDULER_INSERT_BATCH_SIZE = 500;

  /**
   * Prefect's `PREFECT_SERVER_API_AUTH_STRING` (read under that name too): set, every HTTP request but
   * `GET /api/health` needs HTTP basic auth with it, and the events websocket's `auth` message its token.
   */
  @IsOptional()
  @IsString()
  API_AUTH_STRING: string | null = null;

  /** Prefect's `PREFECT_SERVER_CORS_ALLOWED_ORIGINS`: comma-separated origins allowed cross-origin, `*` for any. */
  @IsString()
  CORS_ALLOWED_ORIGINS = '*';

  /** Prefect's `PREFECT_SERVER_CORS_ALLOWED_METHODS`: comma-separated, `*` for any. */
  @IsString()
  CORS_ALLOWED_METHODS = '*';

  /** Prefect's `PREFECT_SERVER_CORS_ALLOWED_HEADERS`: comma-separated request headers allowed cross-origin, `*` for any. */
  @IsString()
  CORS_ALLOWED_HEADERS = '*';

  /**
   * The largest request body taken. The Prefect 3.9 client keeps a log batch under 4,000,000 bytes
   * (`PREFECT_LOGGING_TO_API_BATCH_SIZE`); 8 MiB leaves room for older clients' batches (up to 5 MB).
   */
  @Transform(toInt)
  @IsInt({ message: 'HTTP_BODY_LIMIT_BYTES must be an integer' })
  @Min(1024)
  HTTP_BODY_LIMIT_BYTES = 8 * 1024 * 1024;

  /** A client must have sent a request's headers within this long of starting it, or gets 408 and is closed. */
  @Transform(toNumber)
  @IsNumber({}, { message: 'HTTP_HEADERS_TIMEOUT_SECONDS must be a number' })
  @Min(0.1)
  HTTP_HEADERS_TIMEOUT_SECONDS = 10;

  /** ... and its whole request, body included (not the time to answer it: long polls are unaffected). */
  @Transform(toNumber)
  @IsNumber({}, { message: 'HTTP_REQUEST_TIMEOUT_SECONDS must be a number' })
  @Min(0.1)
  HTTP_REQUEST_TIMEOUT_SECONDS = 30;

  /**
   * An idle keep-alive connection is closed after this long. Longer than httpx's 5 s keep-alive expiry, so the
   * Prefect client, not the server, ends idle connections and no request races a close.
   */
  @Transform(toNumber)
  @IsNumber({}, { message: 'HTTP_KEEP_ALIVE_TIMEOUT_SECONDS must be a number' })
  @Min(0.1)
  HTTP_KEEP_ALIVE_TIMEOUT_SECONDS = 10;

  /** Open connections beyond this are closed at once, so clients cannot use up the process's file descriptors. */
  @Transform(toInt)
  @IsInt({ message: 'HTTP_MAX_CONNECTIONS must be an integer' })
  @Min(1)
  HTTP_MAX_CONNECTIONS = 10_000;

  /**
   * On SIGTERM the gateway keeps serving this long with `/api/ready` answering 503 (long polls answered at once),
   * so a load balancer takes it out of rotation before its listener closes.
   */
  @Transform(toNumber)
  @IsNumber({}, { message: 'SHUTDOWN_DRAIN_SECONDS must be a number' })
  @Min(0)
  @Max(300)
  SHUTDOWN_DRAIN_SECONDS = 0;

  /** The scheduler's `/metrics` listener (on HOST); the gateway serves `/metrics` on its own port. */
  @Transform(toInt)
  @IsInt({ message: 'METRICS_PORT must be an integer' })
  @Min(0)
  @Max(65535)
  METRICS_PORT = 4201;

  /** How often the per-pool and per-queue gauges are sampled from Postgres (one set-based query). */
  @Transform(toNumber)
  @IsNumber({}, { message: 'METRICS_SAMPLE_SECONDS must be a number' })
  @Min(0.1)
  METRICS_SAMPLE_SECONDS = 15;
}

/** Prefect's own names, read when ours are not set. */
const FALLBACK_NAMES: Record<string, string> = {
  API_AUTH_STRING: 'PREFECT_SERVER_API_AUTH_STRING',
};

/** Rules between variables, which class-validator checks one by one. */
function crossFieldErrors(config: ConfigEnv): string[] {
  // Node refuses to start an HTTP server whose headers may take longer than its whole request.
  return config.HTTP_HEADERS_TIMEOUT_SECONDS > config.HTTP_REQUEST_TIMEOUT_SECONDS
    ? ['  HTTP_HEADERS_TIMEOUT_SECONDS: must not exceed HTTP_REQUEST_TIMEOUT_SECONDS']
    : [];
}

export class ConfigError extends Error {}

/** Validates an environment into a {@link ConfigEnv}; throws a {@link ConfigError} naming every bad variable. */
export function readConfigEnv(env: Record<string, string | undefined>): ConfigEnv {
  const known = Object.keys(new ConfigEnv());
  const valueOf = (key: string): string | undefined =>
    [env[key], key in FALLBACK_NAMES ? env[FALLBACK_NAMES[key]] : undefined].find(
      (value) => value !== undefined && value !== '',
    );
  const provided = Object.fromEntries(
    known.filter((key) => valueOf(key) !== undefined).map((key) => [key, valueOf(key)]),
  );
  const config = plainToInstance(ConfigEnv, provided, { exposeDefaultValues: true });
  const errors = validateSync(config, { whitelist: true, forbidUnknownValues: true });
  const lines = errors.map((e) => `  ${e.property}: ${Object.values(e.constraints ?? {}).join('; ')}`);
  if (lines.length === 0) lines.push(...crossFieldErrors(config));
  if (lines.length > 0) throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  return config;
}
