/** DocuSign-style timestamps: 7 fractional digits and `Z`, e.g. `2024-10-16T12:54:00.0270000Z` (docusign-api.md §3.1). */
export function formatTs(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, -1)}0000Z`;
}

export const DOCUSIGN_TS_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$/;

/** DocuSign's other form (group `lastModifiedOn`, docusign-api.md §10): 3 digits, no zone, UTC. */
export function formatZoneless(ms: number): string {
  return new Date(ms).toISOString().slice(0, 23);
}

export const ZONELESS_TS_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}$/;

const ISO_NO_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?$/;
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const US_DATE = /^(\d{1,2})\/(\d{1,2})\/(\d{4})(?:[ +](\d{1,2}):(\d{2})(?::(\d{2}))?(?:[ +]?(AM|PM))?)?$/i;

/**
 * Parses a `from_date`/`to_date` query value. ISO 8601 with an offset is used as is; without an offset the
 * "server's time zone" applies (docusign-api.md §3.1), which for the emulator is UTC. Also accepts the
 * `9/15/2016 12:00:00 AM` form DocuSign itself writes into `nextUri`. Fractions beyond milliseconds are truncated.
 * Returns epoch milliseconds, or undefined when the value is not a date-time.
 */
export function parseDateParam(value: string): number | undefined {
  const v = value.trim();
  if (ISO_WITH_OFFSET.test(v)) return finite(Date.parse(trimFraction(v)));
  if (ISO_NO_OFFSET.test(v)) return finite(Date.parse(`${trimFraction(v)}Z`));
  if (DATE_ONLY.test(v)) return finite(Date.parse(`${v}T00:00:00Z`));
  const us = US_DATE.exec(v);
  if (us) {
    const [, mo, d, y, hh, mm, ss, ampm] = us;
    let hour = hh === undefined ? 0 : Number(hh);
    if (ampm !== undefined) {
      if (hour < 1 || hour > 12) return undefined;
      hour = (hour % 12) + (ampm.toUpperCase() === 'PM' ? 12 : 0);
    }
    const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), hour, Number(mm ?? 0), Number(ss ?? 0));
    return finite(ms);
  }
  return undefined;
}

function trimFraction(v: string): string {
  return v.replace(/(\.\d{3})\d+/, '$1');
}

function finite(n: number): number | undefined {
  return Number.isFinite(n) ? n : undefined;
}
