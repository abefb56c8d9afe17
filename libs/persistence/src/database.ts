import { Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { Repositories } from './repositories';

export type AfterCommit = () => unknown;

/** The connection pool's occupancy, for metrics. */
export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

/** The `pg` pool under TypeORM's Postgres driver (untyped there). */
interface PgPool {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

/** Repositories bound to one transaction, plus a hook for work that must wait until it has committed. */
export interface Transaction extends Repositories {
  /** Runs `callback` once the transaction has committed (never if it rolls back). Errors are logged, not thrown. */
  afterCommit(callback: AfterCommit): void;
}

/**
 * The one seam between services and Postgres. Services never see a `DataSource` or an `EntityManager`:
 * they read through {@link Database.repos} and write through {@link Database.transaction}.
 */
@Injectable()
export class Database {
  private readonly logger = new Logger(Database.name);
  /** Repositories outside any transaction: each call is its own statement. */
  readonly repos: Repositories;

  constructor(private readonly dataSource: DataSource) {
    this.repos = new Repositories(dataSource.manager);
  }

  /** Resolves once Postgres answers `SELECT 1`; rejects after `timeoutMs` (a pool that waits counts as not answering). */
  async ping(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.dataSource.query('SELECT 1'), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Read from the pool's counters, without a query. */
  poolStats(): PoolStats {
    const pool = (this.dataSource.driver as unknown as { master?: PgPool }).master;
    return { total: pool?.totalCount ?? 0, idle: pool?.idleCount ?? 0, waiting: pool?.waitingCount ?? 0 };
  }

  async transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    const callbacks: AfterCommit[] = [];
    const result = await this.dataSource.transaction((manager: EntityManager) => {
      const tx = Object.assign(new Repositories(manager), {
        afterCommit: (callback: AfterCommit) => void callbacks.push(callback),
      });
      return work(tx);
    });
    for (const callback of callbacks) {
      try {
        await callback();
      } catch (error) {
        this.logger.error({ message: 'after-commit callback failed', error: String(error) });
      }
    }
    return result;
  }
}
