import { AppConfig } from '@app/config';
import { Test } from '@nestjs/testing';
import type { INestApplicationContext } from '@nestjs/common';
import { DispatcherService } from '../../apps/scheduler/src/dispatch/dispatcher.service';
import { SchedulerModule } from '../../apps/scheduler/src/scheduler.module';

/** The scheduler app in-process, on the same database and namespace as a {@link TestGateway}. */
export class TestScheduler {
  private constructor(readonly app: INestApplicationContext) {}

  static async start(config: AppConfig): Promise<TestScheduler> {
    const moduleRef = await Test.createTestingModule({ imports: [SchedulerModule] })
      .overrideProvider(AppConfig)
      .useValue(config)
      .compile();
    await moduleRef.init();
    return new TestScheduler(moduleRef);
  }

  get dispatcher(): DispatcherService {
    return this.app.get(DispatcherService);
  }

  stop(): Promise<void> {
    return this.app.close();
  }
}
