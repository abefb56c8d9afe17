import { DeploymentScheduleUpdateDto, IntervalScheduleDto } from '@app/contracts';
import { DomainError } from '@app/domain';
import { planScheduleUpdate } from './schedule-update-plan';

const interval = Object.assign(new IntervalScheduleDto(), { interval: 60 });
const update = (values: Partial<DeploymentScheduleUpdateDto>) =>
  Object.assign(new DeploymentScheduleUpdateDto(), values);

describe('planScheduleUpdate', () => {
  it('changes nothing when the body lists no schedules', () => {
    expect(planScheduleUpdate(['a'], undefined)).toEqual({ kind: 'unchanged' });
  });

  it('replaces schedules when some existing one has no slug (or there are none), keeping only configured entries', () => {
    const configured = update({ schedule: interval });
    expect(planScheduleUpdate(['a', null], [configured, update({ slug: 'x' })])).toEqual({
      kind: 'replace',
      create: [configured],
    });
    expect(planScheduleUpdate([], [])).toEqual({ kind: 'replace', create: [] });
  });

  it('patches by slug or by the replaced slug, creates the others and keeps unmentioned ones', () => {
    const patchA = update({ slug: 'a', active: false });
    const rename = update({ slug: 'z', replaces: 'b' });
    const create = update({ slug: 'new', schedule: interval });
    const danglingRename = update({ slug: 'w', replaces: 'gone', schedule: interval });
    expect(planScheduleUpdate(['a', 'b', 'c'], [patchA, rename, create, danglingRename])).toEqual({
      kind: 'targeted',
      patch: [patchA, rename],
      create: [create, danglingRename],
    });
  });

  it.each([
    [[update({ schedule: interval })], 'Please provide a slug'],
    [[update({ slug: 'x', replaces: 'a' }), update({ slug: 'y', replaces: 'a' })], 'targeting the same slug: a'],
    [[update({ slug: 'b', replaces: 'a' })], "Cannot rename schedule from 'a' to 'b'"],
    [[update({ slug: 'new' })], 'without a schedule configuration'],
  ])('refuses %j with a 422', (provided, message) => {
    let error: unknown;
    try {
      planScheduleUpdate(['a', 'b'], provided);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ code: 'invalid', message: expect.stringContaining(message) });
  });

  it('allows a rename onto a slug that is itself being renamed away', () => {
    const plan = planScheduleUpdate(
      ['a', 'b'],
      [update({ slug: 'b', replaces: 'a' }), update({ slug: 'c', replaces: 'b' })],
    );
    expect(plan).toMatchObject({ kind: 'targeted', create: [] });
  });
});
