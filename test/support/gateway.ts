import { AppConfig, loadConfig } from '@app/config';
import { Database } from '@app/persistence';
import { Test } from '@nestjs/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { GatewayModule } from '../../apps/gateway/src/gateway.module';
import { createHttpApp } from '../../apps/gateway/src/http/http-app';
import { createTestDatabase } from './databases';

export interface TestResponse<T = any> {
  status: number;
  body: T;
  text: string;
  headers: Record<string, unknown>;
}

/** The gateway on its own fresh database, driven in-process through Fastify's `inject`. */
export class TestGateway {
  private constructor(
    readonly app: NestFastifyApplication,
    readonly config: AppConfig,
    private readonly dropDatabase: () => Promise<void>,
  ) {}

  /** `databasePort`: reach the test's database through this port (a fault proxy to Postgres). */
  static async start(
    overrides: Record<string, string> = {},
    { databasePort }: { databasePort?: number } = {},
  ): Promise<TestGateway> {
    const database = await createTestDatabase();
    const url = new URL(database.url);
    if (databasePort !== undefined) url.port = String(databasePort);
    const config = loadConfig({
      LOG_LEVEL: 'error',
      PORT: '0',
      NATS_NAMESPACE: database.name.replace(/_/g, '-'),
      ...overrides,
      DATABASE_URL: url.toString(),
    });
    const moduleRef = await Test.createTestingModule({ imports: [GatewayModule] })
      .overrideProvider(AppConfig)
      .useValue(config)
      .compile();
    const app = await createHttpApp(config, (adapter, options) =>
      Promise.resolve(moduleRef.createNestApplication<NestFastifyApplication>(adapter, options)),
    );
    await app.init();
    await app.startAllMicroservices();
    await app.getHttpAdapter().getInstance().ready();
    return new TestGateway(app, config, database.drop);
  }

  get db(): Database {
    return this.app.get(Database);
  }

  async request<T = any>(
    method: string,
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<TestResponse<T>> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const response = await this.app.inject({
      method: method as 'GET',
      url: url.startsWith('/api') ? url : `/api${url}`,
      payload,
      headers: payload === undefined ? headers : { 'content-type': 'application/json', ...headers },
    });
    const text = response.body;
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = text;
    }
    return { status: response.statusCode, body: parsed as T, text, headers: response.headers };
  }

  get = <T = any>(url: string) => this.request<T>('GET', url);
  post = <T = any>(url: string, body?: unknown) => this.request<T>('POST', url, body);
  patch = <T = any>(url: string, body?: unknown) => this.request<T>('PATCH', url, body);
  delete = <T = any>(url: string) => this.request<T>('DELETE', url);

  async stop(): Promise<void> {
    await this.app.close();
    await this.dropDatabase();
  }
}
