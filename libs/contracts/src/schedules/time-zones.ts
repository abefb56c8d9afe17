/**
 * Whether `name` is an IANA zone Python's `zoneinfo.available_timezones()` knows. ICU accepts the same names
 * (aliases such as `US/Eastern` included) but matches them case-insensitively and also takes UTC offsets,
 * which Python does not.
 */
export function isKnownTimeZone(name: string): boolean {
  if (name === '' || /^[+-]/.test(name)) return false;
  try {
    const resolved = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
    return resolved === name || resolved.toLowerCase() !== name.toLowerCase();
  } catch {
    return false;
  }
}
