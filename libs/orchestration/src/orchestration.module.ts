import { Module } from '@nestjs/common';
import { FlowRunProposals } from './flow-run-proposals';
import { FlowRunStateEvents } from './flow-run-state-events';
import { FlowRunTransitions } from './flow-run-transitions';
import { TaskRunTransitions } from './task-run-transitions';

/** Flow-run and task-run transitions for every app that moves runs between states (needs the persistence and messaging modules). */
@Module({
  providers: [FlowRunTransitions, FlowRunProposals, TaskRunTransitions, FlowRunStateEvents],
  exports: [FlowRunTransitions, FlowRunProposals, TaskRunTransitions],
})
export class OrchestrationModule {}
