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
  const fraction = m[7] ?? '';
  const zone = m[8] ?? 'Z';
  const local = new Date(0);
  local.setUTCFullYear(year, month - 1, day);
  local.setUTCHours(hour, minute, second, 0);
  // Reject calendar overflow (2024-02-31, 25:00) instead of letting Date roll it over.
  if (
    local.getUTCFullYear() !== year ||
    local.getUTCMonth() !== month - 1 ||
    local.getUTCDate() !== day ||
    local.getUTCHours() !== hour ||
    local.getUTCMinutes() !== minute ||
    local.getUTCSeconds() !== second
  ) {
    return undefined;
  }
  let ms = local.getTime();
  if (zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const offsetMinutes = Number(zone.slice(1, 3)) * 60 + Number(zone.slice(-2));
    ms -= sign * offsetMinutes * 60_000;
  }
  const utc = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ (4-digit years, which DocuSign times have)
  if (utc.length !== 24) return undefined;
  return `${utc.slice(0, 19)}.${fraction.padEnd(9, '0')}Z`;
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
