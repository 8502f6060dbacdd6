/**
 * Reading values as DocuSign sends them (docusign-api.md §10): booleans and numbers as strings ("True", "true", "20"),
 * sometimes as real booleans, times with 7 fractional digits or without a zone (UTC). Stored evidence is untrusted
 * input: anything of another shape reads as absent.
 */
import { instantKey } from '../../activities/store/identity';

/** A non-empty string (numbers and booleans as their text); undefined for anything else. */
export function text(value: unknown): string | undefined {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** "True", "true", true → true; "False", "false", false → false; anything else undefined. */
export function flag(value: unknown): boolean | undefined {
  const t = text(value)?.toLowerCase();
  return t === 'true' ? true : t === 'false' ? false : undefined;
}

/** A whole number given as digits; undefined otherwise. */
export function whole(value: unknown): number | undefined {
  const t = text(value);
  return t !== undefined && /^\d{1,9}$/.test(t) ? Number(t) : undefined;
}

/** A DocuSign time as ISO-8601 UTC with milliseconds (`2026-06-24T12:29:53.657Z`); undefined if it is not a time. */
export function isoTime(value: unknown): string | undefined {
  const t = text(value);
  const key = t === undefined ? undefined : instantKey(t);
  return key === undefined ? undefined : `${key.slice(0, 23)}Z`;
}

export const sameText = (a: string | undefined, b: string): boolean => a?.toLowerCase() === b.toLowerCase();

/** Code-unit order: the same on every machine and locale, so the report's bytes are too. */
export const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** `1 day`, `2 days`. */
export const plural = (n: number, word: string, words = `${word}s`): string => `${n} ${n === 1 ? word : words}`;
