import type { DeploymentScheduleUpdateDto } from '@app/contracts';
import { invalid } from '@app/domain';
import type { NewSchedule } from './schedules';

/** How a deployment PATCH that lists `schedules` changes the deployment's schedules. */
export type ScheduleUpdatePlan =
  | { kind: 'unchanged' }
  /** Delete every schedule and create these. */
  | { kind: 'replace'; create: NewSchedule[] }
  /** Update the schedules matched by slug (or by the old slug they `replace`) and create the others. */
  | { kind: 'targeted'; patch: DeploymentScheduleUpdateDto[]; create: NewSchedule[] };

const withConfiguration = (
  schedule: DeploymentScheduleUpdateDto,
): schedule is DeploymentScheduleUpdateDto & NewSchedule =>
  schedule.schedule !== null && schedule.schedule !== undefined;

const NO_CONFIGURATION = 'Unable to create new deployment schedules without a schedule configuration.';

/**
 * Prefect's rules in `update_deployment`: when every existing schedule and every provided one has a slug,
 * schedules are updated in place by slug (renames through `replaces`) and the unmentioned ones are kept;
 * when the existing ones all have slugs but a provided one does not, the request is refused; otherwise the
 * provided list replaces the existing schedules (dropping entries without a configuration).
 */
export function planScheduleUpdate(
  existingSlugs: (string | null)[],
  provided: DeploymentScheduleUpdateDto[] | undefined,
): ScheduleUpdatePlan {
  if (provided === undefined) return { kind: 'unchanged' };
  const allProvidedHaveSlugs = provided.every((schedule) => schedule.slug !== null && schedule.slug !== undefined);
  const allExistingHaveSlugs = existingSlugs.length > 0 && existingSlugs.every((slug) => slug !== null);
  if (!allExistingHaveSlugs) return { kind: 'replace', create: provided.filter(withConfiguration) };
  if (!allProvidedHaveSlugs) {
    throw invalid('Please provide a slug for each schedule in your request to ensure schedules are updated correctly.');
  }

  const replaced = new Set<string>();
  for (const schedule of provided) {
    if (!schedule.replaces) continue;
    if (replaced.has(schedule.replaces)) {
      throw invalid(`Multiple schedules have 'replaces' targeting the same slug: ${schedule.replaces}`);
    }
    replaced.add(schedule.replaces);
  }
  for (const { slug, replaces } of provided) {
    if (slug && replaces && existingSlugs.includes(slug) && !replaced.has(slug)) {
      throw invalid(
        `Cannot rename schedule from '${replaces}' to '${slug}': a schedule with slug '${slug}' already exists.`,
      );
    }
  }
  const patch: DeploymentScheduleUpdateDto[] = [];
  const create: NewSchedule[] = [];
  for (const schedule of provided) {
    const target = schedule.replaces || schedule.slug;
    if (existingSlugs.some((slug) => slug === target)) patch.push(schedule);
    else if (withConfiguration(schedule)) create.push(schedule);
    else throw invalid(NO_CONFIGURATION);
  }
  return { kind: 'targeted', patch, create };
}
