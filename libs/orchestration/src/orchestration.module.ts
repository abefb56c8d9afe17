import { Module } from '@nestjs/common';
import { FlowRunStateEvents } from './flow-run-state-events';
import { FlowRunTransitions } from './flow-run-transitions';

/** Flow-run transitions for every app that moves runs between states (needs the persistence and messaging modules). */
@Module({
  providers: [FlowRunTransitions, FlowRunStateEvents],
  exports: [FlowRunTransitions],
})
export class OrchestrationModule {}
