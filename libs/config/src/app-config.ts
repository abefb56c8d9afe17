import { ConfigEnv, readConfigEnv } from './config-env';

export { ConfigError, natsRequiresTls } from './config-env';

/** DATABASE_URL. */
export interface DbConfig {
  readonly url: string;
}

/** NATS_*: the servers, the namespace every subject, stream and consumer name starts with, credentials and TLS. */
export interface NatsConfig {
  readonly url: string;
  readonly namespace: string;
  /** NATS_STREAM_REPLICAS: replicas of every stream and consumer the apps create. */
  readonly streamReplicas: 1 | 3 | 5;
  readonly creds: string | undefined;
  readonly token: string | undefined;
  readonly user: string | undefined;
  readonly password: string | undefined;
  readonly tlsCa: string | undefined;
  readonly tlsCert: string | undefined;
  readonly tlsKey: string | undefined;
}

/** HOST, PORT, HTTP_* and CORS_*: the gateway's listener and what it protects itself with. */
export interface HttpConfig {
  readonly host: string;
  readonly port: number;
  readonly bodyLimitBytes: number;
  readonly headersTimeoutSeconds: number;
  readonly requestTimeoutSeconds: number;
  readonly keepAliveTimeoutSeconds: number;
  readonly maxConnections: number;
  readonly corsAllowedOrigins: string;
  readonly corsAllowedMethods: string;
  readonly corsAllowedHeaders: string;
  /** SHUTDOWN_DRAIN_SECONDS. */
  readonly shutdownDrainSeconds: number;
}

/** METRICS_*: the scheduler's Prometheus listener and how often the backlog gauges are sampled. */
export interface MetricsConfig {
  readonly port: number;
  readonly sampleSeconds: number;
}

/** Prefect's `PREFECT_SERVER_API_*` settings we honour: DEFAULT_LIMIT and API_AUTH_STRING. */
export interface ApiConfig {
  readonly defaultLimit: number;
  readonly authString: string | null;
}

/** LOG_LEVEL. */
export interface LoggingConfig {
  readonly level: string;
}

/** DELIVERY_* and DISPATCH_*: how runs reach pollers over NATS. */
export interface DispatchConfig {
  readonly leaseSeconds: number;
  readonly claimWindowMs: number;
  readonly claimWindowPerRunMs: number;
  readonly horizonSeconds: number;
  readonly intervalMs: number;
  readonly reconcileSeconds: number;
}

/** FOREMAN_*. */
export interface ForemanConfig {
  readonly enabled: boolean;
  readonly loopSeconds: number;
  readonly inactivityHeartbeatMultiple: number;
  readonly fallbackHeartbeatIntervalSeconds: number;
  readonly deploymentLastPolledTimeoutSeconds: number;
  readonly workQueueLastPolledTimeoutSeconds: number;
}

/** LATE_RUNS_*. */
export interface LateRunsConfig {
  readonly enabled: boolean;
  readonly loopSeconds: number;
  readonly afterSeconds: number;
}

/** SCHEDULER_*. */
export interface SchedulerConfig {
  readonly enabled: boolean;
  readonly loopSeconds: number;
  readonly recentDeploymentsLoopSeconds: number;
  readonly deploymentBatchSize: number;
  readonly maxRuns: number;
  readonly minRuns: number;
  readonly maxScheduledTimeSeconds: number;
  readonly minScheduledTimeSeconds: number;
  readonly insertBatchSize: number;
}

/** DEPLOYMENT_CONCURRENCY_*. */
export interface DeploymentConcurrencyConfig {
  readonly slotWaitSeconds: number;
  readonly leaseSeconds: number;
}

/**
 * Every setting either app reads, grouped by concern. Built once at boot from the environment by
 * {@link loadConfig}; nothing else reads `process.env`. A class (with nothing but declarations) so that Nest can
 * inject it by type; its instances are plain frozen objects.
 */
export abstract class AppConfig {
  declare readonly db: DbConfig;
  declare readonly nats: NatsConfig;
  declare readonly http: HttpConfig;
  declare readonly api: ApiConfig;
  declare readonly logging: LoggingConfig;
  declare readonly metrics: MetricsConfig;
  declare readonly dispatch: DispatchConfig;
  declare readonly foreman: ForemanConfig;
  declare readonly lateRuns: LateRunsConfig;
  declare readonly scheduler: SchedulerConfig;
  declare readonly deploymentConcurrency: DeploymentConcurrencyConfig;
}

/** The one place a variable meets the field it configures. */
function grouped(env: ConfigEnv): AppConfig {
  return deepFreeze({
    db: { url: env.DATABASE_URL },
    nats: {
      url: env.NATS_URL,
      namespace: env.NATS_NAMESPACE,
      streamReplicas: env.NATS_STREAM_REPLICAS,
      creds: env.NATS_CREDS,
      token: env.NATS_TOKEN,
      user: env.NATS_USER,
      password: env.NATS_PASSWORD,
      tlsCa: env.NATS_TLS_CA,
      tlsCert: env.NATS_TLS_CERT,
      tlsKey: env.NATS_TLS_KEY,
    },
    http: {
      host: env.HOST,
      port: env.PORT,
      bodyLimitBytes: env.HTTP_BODY_LIMIT_BYTES,
      headersTimeoutSeconds: env.HTTP_HEADERS_TIMEOUT_SECONDS,
      requestTimeoutSeconds: env.HTTP_REQUEST_TIMEOUT_SECONDS,
      keepAliveTimeoutSeconds: env.HTTP_KEEP_ALIVE_TIMEOUT_SECONDS,
      maxConnections: env.HTTP_MAX_CONNECTIONS,
      corsAllowedOrigins: env.CORS_ALLOWED_ORIGINS,
      corsAllowedMethods: env.CORS_ALLOWED_METHODS,
      corsAllowedHeaders: env.CORS_ALLOWED_HEADERS,
      shutdownDrainSeconds: env.SHUTDOWN_DRAIN_SECONDS,
    },
    api: { defaultLimit: env.DEFAULT_LIMIT, authString: env.API_AUTH_STRING },
    logging: { level: env.LOG_LEVEL },
    metrics: { port: env.METRICS_PORT, sampleSeconds: env.METRICS_SAMPLE_SECONDS },
    dispatch: {
      leaseSeconds: env.DELIVERY_LEASE_SECONDS,
      claimWindowMs: env.DELIVERY_CLAIM_WINDOW_MS,
      claimWindowPerRunMs: env.DELIVERY_CLAIM_WINDOW_PER_RUN_MS,
      horizonSeconds: env.DISPATCH_HORIZON_SECONDS,
      intervalMs: env.DISPATCH_INTERVAL_MS,
      reconcileSeconds: env.DISPATCH_RECONCILE_SECONDS,
    },
    foreman: {
      enabled: env.FOREMAN_ENABLED,
      loopSeconds: env.FOREMAN_LOOP_SECONDS,
      inactivityHeartbeatMultiple: env.FOREMAN_INACTIVITY_HEARTBEAT_MULTIPLE,
      fallbackHeartbeatIntervalSeconds: env.FOREMAN_FALLBACK_HEARTBEAT_INTERVAL_SECONDS,
      deploymentLastPolledTimeoutSeconds: env.FOREMAN_DEPLOYMENT_LAST_POLLED_TIMEOUT_SECONDS,
      workQueueLastPolledTimeoutSeconds: env.FOREMAN_WORK_QUEUE_LAST_POLLED_TIMEOUT_SECONDS,
    },
    lateRuns: {
      enabled: env.LATE_RUNS_ENABLED,
      loopSeconds: env.LATE_RUNS_LOOP_SECONDS,
      afterSeconds: env.LATE_RUNS_AFTER_SECONDS,
    },
    scheduler: {
      enabled: env.SCHEDULER_ENABLED,
      loopSeconds: env.SCHEDULER_LOOP_SECONDS,
      recentDeploymentsLoopSeconds: env.SCHEDULER_RECENT_DEPLOYMENTS_LOOP_SECONDS,
      deploymentBatchSize: env.SCHEDULER_DEPLOYMENT_BATCH_SIZE,
      maxRuns: env.SCHEDULER_MAX_RUNS,
      minRuns: env.SCHEDULER_MIN_RUNS,
      maxScheduledTimeSeconds: env.SCHEDULER_MAX_SCHEDULED_TIME_SECONDS,
      minScheduledTimeSeconds: env.SCHEDULER_MIN_SCHEDULED_TIME_SECONDS,
      insertBatchSize: env.SCHEDULER_INSERT_BATCH_SIZE,
    },
    deploymentConcurrency: {
      slotWaitSeconds: env.DEPLOYMENT_CONCURRENCY_SLOT_WAIT_SECONDS,
      leaseSeconds: env.DEPLOYMENT_CONCURRENCY_LEASE_SECONDS,
    },
  });
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (typeof child === 'object' && child !== null) deepFreeze(child as object);
  }
  return Object.freeze(value);
}

/**
 * Validates an environment (every variable by its own name) and groups it into an {@link AppConfig}; throws a
 * {@link ConfigError} naming every bad variable.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): AppConfig {
  return grouped(readConfigEnv(env));
}
