import fc from 'fast-check';
import { isKnownTimeZone } from './time-zones';

/** Names in Python's `zoneinfo.available_timezones()`: a seeded sample (the cached venv) and common aliases. */
const PYTHON_ZONES = [
  'UTC',
  'GMT',
  'EST',
  'MST',
  'America/New_York',
  'US/Eastern',
  'Europe/London',
  'Etc/GMT+5',
  'Etc/GMT-5',
  'Etc/GMT+9',
  'Asia/Kolkata',
  'Asia/Calcutta',
  'Europe/Kyiv',
  'Europe/Oslo',
  'Pacific/Yap',
  'Europe/Nicosia',
  'America/Rio_Branco',
  'America/Rainy_River',
  'Mexico/General',
  'America/Coral_Harbour',
  'America/Argentina/La_Rioja',
  'Africa/Asmara',
  'America/Kralendijk',
  'Pacific/Galapagos',
  'Asia/Anadyr',
  'Indian/Mayotte',
  'Pacific/Rarotonga',
  'Europe/Rome',
];
/** Names Python refuses: other spellings of known zones, offsets, and zones that do not exist. */
const NOT_PYTHON_ZONES = ['utc', 'europe/london', 'europe/oslo', 'Mars/Olympus', '+01:00', '-05:00', 'Local', ''];

describe('time zones (Prefect 3.9.1 vectors)', () => {
  it.each(PYTHON_ZONES)('knows %p', (zone) => {
    expect(isKnownTimeZone(zone)).toBe(true);
  });

  it.each(NOT_PYTHON_ZONES)('does not know %p', (zone) => {
    expect(isKnownTimeZone(zone)).toBe(false);
  });
});

describe('time zones (properties)', () => {
  // Only for names ICU keeps as they are: a re-spelled ICU alias (`asia/kolkata`, `mst`) passes here, a known
  // difference.
  it('knows a zone only in its own spelling, as Python does', () => {
    const canonical = ['America/New_York', 'Europe/London', 'Europe/Oslo', 'Europe/Rome', 'Asia/Anadyr'];
    const respelled = fc
      .constantFrom(...canonical)
      .chain((zone) => fc.constantFrom(zone.toLowerCase(), zone.toUpperCase()));
    fc.assert(fc.property(respelled, (zone) => expect(isKnownTimeZone(zone)).toBe(false)));
  });

  it('knows no UTC offset', () => {
    const offset = fc.tuple(fc.constantFrom('+', '-'), fc.nat({ max: 14 }), fc.nat({ max: 59 }));
    fc.assert(
      fc.property(offset, ([sign, h, m]) => {
        const zone = `${sign}${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`;
        expect(isKnownTimeZone(zone)).toBe(false);
      }),
    );
  });
});
