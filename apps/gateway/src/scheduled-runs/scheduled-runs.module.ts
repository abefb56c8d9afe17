import { Module } from '@nestjs/common';
import { PollSessions } from './poll-session';
import { PollSideEffects } from './poll-side-effects.service';
import { PollTargets } from './poll-targets.service';
import { PoolArrivals } from './pool-arrivals.service';
import { PoolLeases } from './pool-leases.service';
import { ScheduledRunsController } from './scheduled-runs.controller';
import { ScheduledRunsService } from './scheduled-runs.service';
import { WorkQueueRunsController } from './work-queue-runs.controller';

/** The worker's poll, served by draining the pool's subjects on the bus. */
@Module({
  controllers: [ScheduledRunsController, WorkQueueRunsController],
  providers: [ScheduledRunsService, PollSessions, PollSideEffects, PoolArrivals, PoolLeases, PollTargets],
})
export class ScheduledRunsModule {}
