import { canonicalUuid, InvalidEventError, receiveEvent } from './received-events';

const RECEIVED = new Date('2026-08-21T12:00:05.250Z');
const ID = '0d4a2c6e-7a1b-4c3d-9e8f-1a2b3c4d5e6f';

const valid = (overrides: Record<string, unknown> = {}) =>
  JSON.stringify({
    id: ID,
    occurred: '2026-08-21T12:00:00.123456Z',
    event: 'prefect.task-run.Running',
    resource: { 'prefect.resource.id': 'prefect.task-run.x' },
    ...overrides,
  });

describe('receiveEvent (Event.model_validate_json(...).receive())', () => {
  it("stamps received, fills related and payload, drops unknown keys and a client's own received", () => {
    expect(receiveEvent(valid({ received: '1999-01-01T00:00:00Z', extra: 1 }), RECEIVED)).toEqual({
      id: ID,
      occurred: '2026-08-21T12:00:00.123456Z',
      event: 'prefect.task-run.Running',
      resource: { 'prefect.resource.id': 'prefect.task-run.x' },
      related: [],
      payload: {},
      follows: null,
      received: '2026-08-21T12:00:05.250000Z',
    });
  });

  it('makes ids canonical and instants UTC, keeping their microseconds', () => {
    const event = receiveEvent(
      valid({
        id: ID.toUpperCase().replace(/-/g, ''),
        follows: ID.toUpperCase(),
        occurred: '2026-08-21 14:00:00.000001+02:00',
      }),
      RECEIVED,
    );
    expect(event).toMatchObject({ id: ID, follows: ID, occurred: '2026-08-21T12:00:00.000001Z' });
  });

  it('keeps related resources and the payload as sent', () => {
    const related = [
      {
        'prefect.resource.id': 'prefect.flow-run.y',
        'prefect.resource.role': 'flow-run',
        'prefect.resource.name': 'y',
      },
    ];
    const payload = { validated_state: { type: 'RUNNING' }, nested: [1, { a: null }] };
    expect(receiveEvent(valid({ related, payload }), RECEIVED)).toMatchObject({ related, payload });
  });

  it.each([
    ['not JSON', '{"id":', /Invalid JSON/],
    ['not an object', '[1]', /object/],
    ['a missing id', valid({ id: undefined }), /^id/],
    ['an id that is no UUID', valid({ id: 'abc' }), /^id/],
    ['a missing occurred', valid({ occurred: undefined }), /^occurred/],
    ['an occurred that is no date-time', valid({ occurred: '2026-02-30T00:00:00Z' }), /^occurred/],
    ['an event name that is no string', valid({ event: 5 }), /^event/],
    ['an event name over 1024 characters', valid({ event: 'x'.repeat(1025) }), /at most 1024/],
    [
      'a resource without prefect.resource.id',
      valid({ resource: { 'prefect.resource.name': 'n' } }),
      /prefect.resource.id/,
    ],
    ['a resource with an empty id', valid({ resource: { 'prefect.resource.id': '' } }), /prefect.resource.id/],
    ['a label that is no string', valid({ resource: { 'prefect.resource.id': 'a', count: 1 } }), /resource.count/],
    [
      'too many labels',
      valid({
        resource: Object.fromEntries(
          Array.from({ length: 501 }, (_, i) => [i === 0 ? 'prefect.resource.id' : `l${i}`, 'v']),
        ),
      }),
      /labels/,
    ],
    ['a related resource without a role', valid({ related: [{ 'prefect.resource.id': 'a' }] }), /related.0.*role/],
    ['related that is no list', valid({ related: null }), /^related/],
    [
      'more than 100 related resources',
      valid({
        related: Array.from({ length: 101 }, () => ({ 'prefect.resource.id': 'a', 'prefect.resource.role': 'r' })),
      }),
      /related resources is 100/,
    ],
    ['a payload that is no dictionary', valid({ payload: [] }), /^payload/],
    ['a follows that is no UUID', valid({ follows: 'nope' }), /^follows/],
  ])('refuses %s', (_case, text, message) => {
    expect(() => receiveEvent(text, RECEIVED)).toThrow(InvalidEventError);
    expect(() => receiveEvent(text, RECEIVED)).toThrow(message);
  });

  it('takes an event name of exactly 1024 characters and 100 related resources', () => {
    const related = Array.from({ length: 100 }, () => ({ 'prefect.resource.id': 'a', 'prefect.resource.role': 'r' }));
    expect(receiveEvent(valid({ event: 'x'.repeat(1024), related }), RECEIVED).related).toHaveLength(100);
  });
});

describe('canonicalUuid', () => {
  it('reads hyphenated and bare hex in any case, and nothing else', () => {
    expect(canonicalUuid('0D4A2C6E7A1B4C3D9E8F1A2B3C4D5E6F')).toBe(ID);
    expect(canonicalUuid(ID)).toBe(ID);
    expect(canonicalUuid(`${ID}0`)).toBeNull();
    expect(canonicalUuid(42)).toBeNull();
  });
});
