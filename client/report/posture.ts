/**
 * Security posture: the account's password rules and sign-in settings against a stated baseline. Each baseline is a
 * named constant with the rule it comes from; the report prints the values and the reasons, so an auditor can hold a
 * different baseline against the same facts. A setting DocuSign did not report (absent, null, or not readable) is
 * `not_reported`, never a fail: the evidence cannot say.
 */
import type { PostureCheck } from './model';
import { flag, plural, text, whole } from './values';

/** PCI DSS v4.0 8.3.6 asks at least 12 characters; DocuSign allows a minimum of up to 15. */
export const MIN_PASSWORD_LENGTH = 12;
/** Of upper case, lower case, digit and special character ("digit or special" counts once): the usual directory rule. */
export const MIN_PASSWORD_CHARACTER_CLASSES = 3;
/** PCI DSS v4.0 8.3.9: a password that is the only factor is changed at least every 90 days. */
export const MAX_PASSWORD_AGE_DAYS = 90;
/** PCI DSS v4.0 8.3.4: after repeated failures the account stays locked at least 30 minutes. */
export const MIN_LOCKOUT_MINUTES = 30;
/** NIST SP 800-63B (AAL2): re-authenticate after at most 30 minutes of inactivity. */
export const MAX_SESSION_TIMEOUT_MINUTES = 30;

const MINUTES_PER: Record<string, number> = { minutes: 1, hours: 60, days: 1440 };

type Settings = Record<string, unknown>;
type Outcome = Pick<PostureCheck, 'actual' | 'result'>;

const NOT_REPORTED: Outcome = { actual: null, result: 'not_reported' };
const judged = (actual: string, pass: boolean): Outcome => ({ actual, result: pass ? 'pass' : 'fail' });

interface CheckRule {
  id: string;
  label: string;
  source: 'settings' | 'passwordRules';
  fields: string[];
  baseline: string;
  why: string;
  evaluate: (values: Settings) => Outcome;
}

/** A setting that should be on ("true" in any casing). */
const enabled = (id: string, label: string, field: string, why: string): CheckRule => ({
  id,
  label,
  source: 'settings',
  fields: [field],
  baseline: 'enabled',
  why,
  evaluate: (s) => {
    const on = flag(s[field]);
    return on === undefined ? NOT_REPORTED : judged(on ? 'enabled' : 'disabled', on);
  },
});

const CLASSES = [
  ['upper case', ['passwordIncludeUpperCase']],
  ['lower case', ['passwordIncludeLowerCase']],
  ['digit', ['passwordIncludeDigit']],
  ['special character', ['passwordIncludeSpecialCharacter']],
  ['digit or special character', ['passwordIncludeDigitOrSpecialCharacter']],
] as const;

const CHECKS: readonly CheckRule[] = [
  {
    id: 'password-minimum-length',
    label: 'Password minimum length',
    source: 'passwordRules',
    fields: ['minimumPasswordLength'],
    baseline: `at least ${MIN_PASSWORD_LENGTH} characters`,
    why: 'PCI DSS v4.0 8.3.6; NIST SP 800-63B allows 8 only together with a second factor.',
    evaluate: (r) => {
      const n = whole(r.minimumPasswordLength);
      return n === undefined ? NOT_REPORTED : judged(plural(n, 'character'), n >= MIN_PASSWORD_LENGTH);
    },
  },
  {
    id: 'password-complexity',
    label: 'Password complexity',
    source: 'passwordRules',
    fields: CLASSES.flatMap(([, fields]) => fields),
    baseline: `at least ${MIN_PASSWORD_CHARACTER_CLASSES} character classes required`,
    why: 'The usual directory complexity rule (upper, lower, digit, special); it slows guessing when length is short.',
    evaluate: (r) => {
      const known = CLASSES.map(([name, [field]]) => [name, flag(r[field])] as const);
      if (known.every(([, on]) => on === undefined)) return NOT_REPORTED;
      const required = known.filter(([, on]) => on).map(([name]) => name);
      const strength = text(r.passwordStrengthType);
      const actual = `${required.length ? required.join(', ') : 'no character class'} required${strength ? ` (strength type ${strength})` : ''}`;
      return judged(actual, required.length >= MIN_PASSWORD_CHARACTER_CLASSES);
    },
  },
  {
    id: 'password-expiry',
    label: 'Password expiry',
    source: 'passwordRules',
    fields: ['expirePassword', 'expirePasswordDays'],
    baseline: `passwords expire within ${MAX_PASSWORD_AGE_DAYS} days`,
    why: 'PCI DSS v4.0 8.3.9 when the password is the only factor (NIST SP 800-63B drops expiry once MFA is enforced).',
    evaluate: (r) => {
      const on = flag(r.expirePassword);
      if (on === false) return judged('never expire', false);
      const days = whole(r.expirePasswordDays);
      if (on === undefined || days === undefined) return NOT_REPORTED;
      return judged(`expire after ${plural(days, 'day')}`, days > 0 && days <= MAX_PASSWORD_AGE_DAYS);
    },
  },
  {
    id: 'password-lockout',
    label: 'Lockout after failed sign-ins',
    source: 'passwordRules',
    fields: ['lockoutDurationMinutes', 'lockoutDurationType'],
    baseline: `locked for at least ${MIN_LOCKOUT_MINUTES} minutes`,
    why: 'PCI DSS v4.0 8.3.4: a lockout long enough to stop online guessing.',
    evaluate: (r) => {
      const value = whole(r.lockoutDurationMinutes);
      // DocuSign names the unit separately; the field's own name says minutes, the default.
      const unit = (text(r.lockoutDurationType) ?? 'minutes').toLowerCase();
      const factor = MINUTES_PER[unit];
      if (value === undefined || factor === undefined) return NOT_REPORTED;
      const actual = value === 0 ? 'no lockout' : plural(value, unit.replace(/s$/, ''));
      return judged(actual, value * factor >= MIN_LOCKOUT_MINUTES);
    },
  },
  {
    id: 'session-timeout',
    label: 'Session timeout',
    source: 'settings',
    fields: ['sessionTimeout'],
    baseline: `at most ${MAX_SESSION_TIMEOUT_MINUTES} minutes idle`,
    why: 'NIST SP 800-63B (AAL2): an idle session ends within 30 minutes.',
    evaluate: (s) => {
      const minutes = whole(s.sessionTimeout);
      return minutes === undefined
        ? NOT_REPORTED
        : judged(plural(minutes, 'minute'), minutes > 0 && minutes <= MAX_SESSION_TIMEOUT_MINUTES);
    },
  },
  enabled(
    'phone-authentication',
    'Phone authentication of signers',
    'allowPhoneAuthentication',
    'Lets senders require a second factor from the signers of sensitive documents.',
  ),
  enabled(
    'sms-authentication',
    'SMS authentication of signers',
    'enableSMSAuthentication',
    'Lets senders require a one-time code by SMS from signers.',
  ),
  enabled(
    'sso-management',
    'Organization SSO management',
    'allowOrganizationSsoManagement',
    "Lets the organization's identity provider enforce its MFA and end access at offboarding.",
  ),
];

/** Every check against the account's settings and password rules (either absent: its checks are not reported). */
export function postureChecks(settings: Settings | undefined, passwordRules: Settings | undefined): PostureCheck[] {
  return CHECKS.map(({ evaluate, source, ...rule }) => {
    const values = source === 'settings' ? settings : passwordRules;
    return { ...rule, ...(values ? evaluate(values) : NOT_REPORTED) };
  });
}
