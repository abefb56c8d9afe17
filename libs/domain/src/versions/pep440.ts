import { compare, valid } from '@renovatebot/pep440';

/**
 * Orders two Prefect client versions under PEP 440 (negative, zero or positive), or null when either is not one:
 * callers decide what an unknown version means, since the library throws on one.
 */
export function comparePep440(version: string, other: string): number | null {
  const left = version.trim();
  const right = other.trim();
  return valid(left) !== null && valid(right) !== null ? compare(left, right) : null;
}
