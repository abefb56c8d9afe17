import { isRecordableTaskRunEvent, receiveEvent } from '@app/domain';
import { EventPublisher } from '@app/messaging';
import { Injectable } from '@nestjs/common';
import { TaskRunRecorder } from '@gateway/task-runs/task-run-recorder.service';

/** What the server does with each event a client streams in over `/api/events/in`. */
@Injectable()
export class EventsInService {
  constructor(
    private readonly recorder: TaskRunRecorder,
    private readonly events: EventPublisher,
  ) {}

  /**
   * One message: validated and stamped `received` as Prefect's server takes an event in (throws
   * `InvalidEventError` otherwise), a client's task-run event recorded, then the event published on
   * `<ns>.events.<event name>` — after the recording committed.
   */
  async receive(message: string): Promise<void> {
    const event = receiveEvent(message, new Date());
    if (isRecordableTaskRunEvent(event)) await this.recorder.record(event);
    this.events.publish([event]);
  }
}
