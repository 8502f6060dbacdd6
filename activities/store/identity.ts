/**
 * What identifies and orders evidence: a version is (envelope ID, statusChangedDateTime), and "newer" compares
 * instants. Shared by both backends and by the DocuSign client and the sync, so all of them agree on it.
 *
 * Instants are compared as strings normalised to UTC with 9 fractional digits (`instantKey`). JS Date is not used for
 * this: it keeps milliseconds only, and DocuSign's statusChangedDateTime has 7 fractional digits.
 */

/** DocuSign envelope IDs are GUIDs; anything that is a safe file name (no separators, no leading dot) is accepted. */
export const ENVELOPE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export function isEnvelopeId(value: unknown): value is string {
  return typeof value === 'string' && ENVELOPE_ID_PATTERN.test(value);
}

const INSTANT_PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/;
const ZONE_SUFFIX = /(?:Z|[+-]\d{2}:?\d{2})$/;

/**
 * An ISO-8601 date-time as a string that sorts in instant order: UTC, `YYYY-MM-DDTHH:MM:SS.fffffffffZ`.
 * `2024-10-16T12:54:00.0270000Z` -> `2024-10-16T12:54:00.027000000Z`. Undefined if the value is not such a time.
 * A time without a zone is UTC: DocuSign sends some that way (`2026-06-23T14:05:59.560`, docusign-api.md §10).
 * Precision is kept to the nanosecond (the date part goes through Date.UTC, the fraction never does).
 */
export function instantKey(value: string): string | undefined {
  const m = INSTANT_PATTERN.exec(value);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  // Reject calendar overflow (2024-02-31, 25:00) instead of letting Date roll it over.
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) {
    return undefined;
  }
  const fraction = (m[7] ?? '').padEnd(9, '0');
  const zone = m[8] ?? 'Z';
  // Already UTC: the date and time are the value's own (a sync checks every envelope's time this way, several times).
  if (zone === 'Z') return `${value.slice(0, 19)}.${fraction}Z`;
  const sign = zone.startsWith('-') ? -1 : 1;
  const offsetMinutes = Number(zone.slice(1, 3)) * 60 + Number(zone.slice(-2));
  const local = new Date(0);
  local.setUTCFullYear(year, month - 1, day); // not Date.UTC: it reads years 0–99 as 1900–1999
  local.setUTCHours(hour, minute, second, 0);
  const utc = new Date(local.getTime() - sign * offsetMinutes * 60_000).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  if (utc.length !== 24) return undefined;
  return `${utc.slice(0, 19)}.${fraction}Z`;
}

/** Days in a month of the proleptic Gregorian calendar, as Date counts them. */
function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * A time the connector writes itself (syncedAt, quarantinedAt, countChangedSince's argument) must carry its zone:
 * Date.parse and Postgres' timestamptz would read a zoneless one as local time.
 */
export function isZonedTime(value: unknown): value is string {
  return typeof value === 'string' && ZONE_SUFFIX.test(value) && instantKey(value) !== undefined;
}

/** Byte (UTF-16 code unit) order, as Postgres' COLLATE "C" keys sort. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
