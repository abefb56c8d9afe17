import fc from 'fast-check';
import { deploymentStatusEvent, kebabStatus, workPoolStatusEvent, workQueueStatusEvent } from './prefect-events';

const POOL = { id: '0b0c2b6e-7c0e-4d43-9d0a-0b9f5a8f2a01', name: 'pool', type: 'process' };
const QUEUE = { id: '5d1c6f34-1f7a-4a70-9a59-2c3c4a3c0b02', name: 'queue' };
const AT = new Date('2026-08-21T12:00:00.000Z');
const minutes = (n: number) => n * 60_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('kebabStatus', () => {
  it.each([
    ['READY', 'ready'],
    ['NOT_READY', 'not-ready'],
    ['PAUSED', 'paused'],
  ])('%s → %s', (status, kebab) => expect(kebabStatus(status)).toBe(kebab));
});

describe('workPoolStatusEvent', () => {
  const stamped = {
    ...POOL,
    status: 'NOT_READY' as const,
    last_status_event_id: 'e2',
    last_transitioned_status_at: AT,
  };

  it('is the transition: its id and time are the new stamp, the pool is the resource (no role), nothing related', () => {
    expect(workPoolStatusEvent(stamped, null)).toEqual({
      id: 'e2',
      occurred: '2026-08-21T12:00:00.000Z',
      event: 'prefect.work-pool.not-ready',
      resource: {
        'prefect.resource.id': `prefect.work-pool.${POOL.id}`,
        'prefect.resource.name': 'pool',
        'prefect.work-pool.type': 'process',
      },
      related: [],
      payload: {},
      follows: null,
    });
  });

  it('follows the previous status event exactly when that came less than ten minutes before', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: minutes(60) }), (gap) => {
        const previous = { last_status_event_id: 'e1', last_transitioned_status_at: new Date(AT.getTime() - gap) };
        expect(workPoolStatusEvent(stamped, previous).follows).toBe(gap < minutes(10) ? 'e1' : null);
      }),
    );
  });

  it('follows nothing when the pool had no stamped transition before', () => {
    expect(
      workPoolStatusEvent(stamped, { last_status_event_id: null, last_transitioned_status_at: null }).follows,
    ).toBeNull();
  });

  it.each([
    ['READY', 'prefect.work-pool.ready'],
    ['PAUSED', 'prefect.work-pool.paused'],
  ] as const)('names a %s pool %s', (status, name) => {
    expect(workPoolStatusEvent({ ...stamped, status }, null).event).toBe(name);
  });
});

describe('workQueueStatusEvent', () => {
  it('names the queue (with its role) and relates its pool', () => {
    const event = workQueueStatusEvent('NOT_READY', QUEUE, POOL, AT);
    expect(event).toMatchObject({
      occurred: '2026-08-21T12:00:00.000Z',
      event: 'prefect.work-queue.not-ready',
      resource: {
        'prefect.resource.id': `prefect.work-queue.${QUEUE.id}`,
        'prefect.resource.name': 'queue',
        'prefect.resource.role': 'work-queue',
      },
      related: [
        {
          'prefect.resource.id': `prefect.work-pool.${POOL.id}`,
          'prefect.resource.name': 'pool',
          'prefect.work-pool.type': 'process',
          'prefect.resource.role': 'work-pool',
        },
      ],
      payload: {},
      follows: null,
    });
    expect(event.id).toMatch(UUID);
  });

  it('gives every event its own id', () => {
    expect(workQueueStatusEvent('READY', QUEUE, POOL, AT).id).not.toBe(
      workQueueStatusEvent('READY', QUEUE, POOL, AT).id,
    );
  });
});

describe('deploymentStatusEvent', () => {
  const deployment = {
    id: 'd1',
    name: 'deploy',
    flow_id: 'f1',
    flow_name: 'flow',
    work_queue_id: QUEUE.id,
    work_queue_name: QUEUE.name,
  };
  const flow = {
    'prefect.resource.id': 'prefect.flow.f1',
    'prefect.resource.name': 'flow',
    'prefect.resource.role': 'flow',
  };
  const queue = {
    'prefect.resource.id': `prefect.work-queue.${QUEUE.id}`,
    'prefect.resource.name': 'queue',
    'prefect.resource.role': 'work-queue',
  };

  it('relates the flow, the queue and its pool, in that order', () => {
    const event = deploymentStatusEvent('NOT_READY', deployment, POOL, AT);
    expect(event.event).toBe('prefect.deployment.not-ready');
    expect(event.resource).toEqual({
      'prefect.resource.id': 'prefect.deployment.d1',
      'prefect.resource.name': 'deploy',
    });
    expect(event.related).toEqual([
      flow,
      queue,
      expect.objectContaining({ 'prefect.resource.id': `prefect.work-pool.${POOL.id}` }),
    ]);
  });

  it('relates only the flow when the deployment has no queue', () => {
    const event = deploymentStatusEvent(
      'READY',
      { ...deployment, work_queue_id: null, work_queue_name: null },
      null,
      AT,
    );
    expect(event.event).toBe('prefect.deployment.ready');
    expect(event.related).toEqual([flow]);
  });
});
