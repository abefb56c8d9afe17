import { Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { Repositories } from './repositories';

export type AfterCommit = () => unknown;

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
