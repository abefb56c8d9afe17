import { PrefectEvent } from '@app/contracts';
import { eventFilterIncludes, InvalidEventFilterError, readEventFilter } from './event-filter';

const NOW = new Date('2026-08-21T12:00:00.000Z');
const WINDOW = { since: '2026-08-21T11:59:00Z', until: '2027-08-21T12:00:00Z' };

const event = (overrides: Partial<PrefectEvent> = {}): PrefectEvent => ({
  id: '6a4ed3a4-0000-4000-8000-000000000001',
  occurred: '2026-08-21T11:59:30.000001Z',
  event: 'prefect.flow-run.Cancelling',
  resource: { 'prefect.resource.id': 'prefect.flow-run.abc', 'prefect.state-type': 'CANCELLING' },
  related: [{ 'prefect.resource.id': 'prefect.work-pool.p1', 'prefect.resource.role': 'work-pool' }],
  payload: { note: 'Hello World' },
  ...overrides,
});

const includes = (filter: Record<string, unknown>, e: PrefectEvent = event()) =>
  eventFilterIncludes(readEventFilter({ occurred: WINDOW, ...filter }, NOW), e);

describe('readEventFilter', () => {
  it("defaults as Prefect: since 180 days before today's start, until now; since clamped to 15 minutes back", () => {
    expect(readEventFilter({}, NOW).occurred).toEqual({
      since: '2026-08-21T11:45:00.000000Z',
      until: '2026-08-21T12:00:00.000000Z',
    });
    expect(readEventFilter({ occurred: { since: '2026-08-21T11:50:00+00:00' } }, NOW).occurred.since).toBe(
      '2026-08-21T11:50:00.000000Z',
    );
  });

  it.each([
    [{ event: { prefix: 'x' } }, 'event.prefix: Input should be a valid list'],
    [{ colour: 'red' }, 'colour: Extra inputs are not permitted'],
    [{ resource: { id: [1] } }, 'resource.id.0: Input should be a valid string'],
    [{ occurred: { since: 'soon' } }, 'occurred.since: Input should be a valid datetime'],
    [{ id: { id: ['nope'] } }, 'id.id.0: Input should be a valid UUID'],
    [{ text: { query: 'x'.repeat(201) } }, 'text.query: String should have at most 200 characters'],
    [{ order: 'UP' }, "order: Input should be 'ASC' or 'DESC'"],
    [{ related: [{ role: ['a'] }, 7] }, 'related.1: Input should be a valid dictionary'],
  ])('refuses %j', (filter, message) => {
    expect(() => readEventFilter(filter, NOW)).toThrow(InvalidEventFilterError);
    expect(() => readEventFilter(filter, NOW)).toThrow(message);
  });
});

describe('eventFilterIncludes', () => {
  it('what the worker asks for: Cancelling events of its pool', () => {
    const filter = {
      event: { name: ['prefect.flow-run.Cancelling'] },
      any_resource: { id: ['prefect.work-pool.p1'] },
    };
    expect(includes(filter)).toBe(true);
    expect(includes(filter, event({ event: 'prefect.flow-run.Running' }))).toBe(false);
    expect(includes(filter, event({ related: [] }))).toBe(false);
  });

  it('the occurred window, bounds included', () => {
    expect(includes({}, event({ occurred: '2026-08-21T11:59:00Z' }))).toBe(true);
    expect(includes({}, event({ occurred: '2026-08-21T11:58:59.999999Z' }))).toBe(false);
  });

  it.each([
    [{ 'prefect.resource.id': 'prefect.flow-run.*' }, true],
    [{ 'prefect.resource.id': 'prefect.flow-run.?bc' }, true],
    [{ 'prefect.resource.id': 'prefect.flow-run.[!a]bc' }, false],
    [{ 'prefect.resource.id': 'prefect.flow-run.[a-c]bc' }, true],
    [{ 'prefect.state-type': ['!CANCELLING'] }, false],
    [{ 'prefect.state-type': ['RUNNING', 'CANC*'] }, true],
    [{ missing: '!anything' }, false],
    [{ 'prefect.resource.id': 'prefect.flow-run.ABC' }, false],
  ])('resource labels %j: %s (fnmatchcase globs, ! negates, missing labels never match)', (labels, expected) => {
    expect(includes({ resource: { labels } })).toBe(expected);
  });

  it('related criteria hold together on one related resource', () => {
    expect(includes({ related: { role: ['work-pool'], id: ['prefect.work-pool.p1'] } })).toBe(true);
    expect(includes({ related: { role: ['flow'], id: ['prefect.work-pool.p1'] } })).toBe(false);
    expect(includes({ related: { resources_in_roles: [['prefect.work-pool.p1', 'work-pool']] } })).toBe(true);
    expect(includes({ related: {} })).toBe(true);
  });

  it('text: alternatives, exclusions and required terms, case-insensitive, over names, label values and payload', () => {
    expect(includes({ text: { query: 'hello' } })).toBe(true);
    expect(includes({ text: { query: 'absent "world"' } })).toBe(true);
    expect(includes({ text: { query: 'hello -cancelling' } })).toBe(false);
    expect(includes({ text: { query: '+hello +absent' } })).toBe(false);
  });

  it('event names: prefixes, exclusions and exact names together', () => {
    expect(includes({ event: { prefix: ['prefect.flow-run.'], exclude_name: ['prefect.flow-run.Cancelling'] } })).toBe(
      false,
    );
    expect(includes({ event: { exclude_prefix: ['prefect.task-run.'] } })).toBe(true);
    expect(includes({ id: { id: ['6A4ED3A4-0000-4000-8000-000000000001'] } })).toBe(true);
  });
});
