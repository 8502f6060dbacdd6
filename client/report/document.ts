/**
 * The report as a document: the words, tables and notes every format shows, built once from the facts so HTML and
 * Markdown cannot drift apart. Values stay plain text here; each renderer escapes every one of them on output.
 */
import type { SignedProofPolicy } from '../../workflows/config';
import type { SnapshotKind } from '../../workflows/evidence';
import {
  SECTIONS,
  type AccessReviewSection,
  type StoreBehind,
  type CheckResult,
  type ConnectionSection,
  type EnvelopeChart,
  type KindChanges,
  type Named,
  type Report,
  type SecurityPostureSection,
  type SignedProofSection,
} from './model';
import { plural } from './values';

export type Tone = 'pass' | 'fail' | 'muted';
/** A piece of text; `code` for identifiers and field names, `hash` for digests (long, may break anywhere). */
export type Text = string | { text: string; tone?: Tone; style?: 'code' | 'hash' };
/** A table cell or fact value: one text, or several lines. */
export type Cell = Text | Text[];

export type Block =
  | { type: 'heading'; text: string }
  | { type: 'paragraph'; text: string }
  /** Says what is missing, so a section without data is never silently empty. */
  | { type: 'empty'; text: string }
  /** Says the report itself is incomplete; shown first, where it cannot be missed. */
  | { type: 'warning'; text: string }
  | { type: 'facts'; items: [string, Cell][] }
  | { type: 'table'; columns: string[]; rows: Cell[][] }
  | { type: 'chart'; chart: EnvelopeChart; caption: string };

export interface Section {
  id: string;
  title: string;
  blocks: Block[];
}

export interface ReportDocument {
  title: string;
  subtitle: string;
  glance: [string, Cell][];
  sections: Section[];
}

/** `2026-06-30T12:00:00.000Z` → `2026-06-30 12:00 UTC`. */
export const when = (iso: string | undefined): string =>
  iso === undefined ? '—' : iso.replace('T', ' ').replace(/:\d{2}(?:\.\d+)?Z$/, ' UTC');
const code = (text: string): Text => ({ text, style: 'code' });
const muted = (text: string): Text => ({ text, tone: 'muted' });
const named = (n: Named): string => (n.name === undefined ? n.id : `${n.name} (${n.id})`);

const RESULT_TEXT: Record<CheckResult, Text> = {
  pass: { text: 'Pass', tone: 'pass' },
  fail: { text: 'Fail', tone: 'fail' },
  not_reported: muted('Not reported'),
};

const KIND_TITLES: Record<SnapshotKind, string> = {
  users: 'Users',
  groups: 'Groups',
  'permission-profiles': 'Permission profiles',
  'signing-groups': 'Signing groups',
  'account-settings': 'Account settings',
};

/** Leads the glance when the store read lacks what the workflow stored (the warning itself opens Connection). */
const INCOMPLETE_GLANCE: [string, Cell] = ['Evidence', { text: 'incomplete: see Connection', tone: 'fail' }];

export function reportDocument(report: Report): ReportDocument {
  const { accessReview: ar, securityPosture: sp, signedProof: proof } = report;
  const fails = sp.checks.filter((c) => c.result === 'fail').length;
  const passes = sp.checks.filter((c) => c.result === 'pass').length;
  const blocks: Record<(typeof SECTIONS)[number]['id'], Block[]> = {
    connection: connectionBlocks(report.connection),
    'access-review': accessReviewBlocks(ar),
    'security-posture': postureBlocks(sp),
    'signed-proof': proofBlocks(proof),
    'envelopes-by-month': chartBlocks(report.envelopesByMonth),
  };
  return {
    title: `DocuSign evidence report: ${report.connectionId}`,
    subtitle: `Generated ${when(report.generatedAt)} · period: ${
      report.period.since ? `from ${when(report.period.since)} to ${when(report.period.until)}` : 'all stored evidence'
    }`,
    glance: [
      ...(report.connection.storeBehind ? [INCOMPLETE_GLANCE] : []),
      ['Administrators', ar.users ? String(ar.administrators.length) : muted('no users snapshot')],
      [`Inactive ${ar.inactivityDays} days`, ar.users ? String(ar.inactive.length) : muted('no users snapshot')],
      ['Security baselines', sp.snapshot ? `${passes} pass, ${fails} fail` : muted('no settings snapshot')],
      ['Completed envelopes', String(proof.completedInPeriod)],
      ['Proof collected', String(proof.counts.collected)],
    ],
    sections: SECTIONS.map(({ id, title }) => ({ id, title, blocks: blocks[id] })),
  };
}

// ---- connection ----

/** `a`, `a or b`, `a, b or c`. */
const listed = (items: string[]): string =>
  items.length > 1 ? `${items.slice(0, -1).join(', ')} or ${items.at(-1)}` : (items[0] ?? '');

/**
 * One line on what the store read lacks (the CLI prints it too), naming what differs; undefined when nothing does.
 */
export function storeBehindWarning(behind: StoreBehind | undefined): string | undefined {
  if (!behind) return undefined;
  const kindsByTime = new Map<string, string[]>();
  for (const s of behind.snapshots) {
    const at = when(s.takenAt);
    kindsByTime.set(at, [...(kindsByTime.get(at) ?? []), KIND_TITLES[s.kind].toLowerCase()]);
  }
  const missing = [
    ...(behind.envelopes
      ? [`${behind.envelopes.stored} stored envelopes where the workflow counted ${behind.envelopes.counted}`]
      : []),
    ...[...kindsByTime].map(([at, kinds]) => `no ${listed(kinds)} snapshot of ${at}`),
  ];
  return (
    `Incomplete: the evidence store read holds ${missing.join('; ')}. This report may have been built from another ` +
    'store than the worker writes to (EVIDENCE_STORE), or evidence was removed from it.'
  );
}

function connectionBlocks(c: ConnectionSection): Block[] {
  const out: Block[] = [];
  const warning = storeBehindWarning(c.storeBehind);
  if (warning) out.push({ type: 'warning', text: warning });
  if (c.live.state === 'unavailable') {
    out.push({
      type: 'empty',
      text: `Temporal did not answer (${c.live.reason}): the live status (phase, account, open errors) is missing. Everything below comes from the evidence store.`,
    });
  } else if (c.live.state === 'not_requested') {
    out.push({
      type: 'empty',
      text: 'The live status was not requested: everything below comes from the evidence store.',
    });
  }
  const facts: [string, Cell][] = [];
  if (c.live.state === 'answered') {
    facts.push(['Environment', c.environment ?? '—'], ['Phase', c.phase ?? '—']);
    facts.push([
      'Account',
      c.account ? [`${c.account.accountName ?? ''} ${c.account.accountId}`.trim(), code(c.account.baseUri)] : '—',
    ]);
    const s = c.lastSync;
    facts.push([
      'Last sync',
      !s
        ? 'none yet'
        : s.finishedAt
          ? `finished ${when(s.finishedAt)}: ${plural(s.envelopes, 'envelope')} new or changed`
          : `running since ${when(s.startedAt)}`,
    ]);
    facts.push(['Next sync', when(c.nextSyncAt)]);
  }
  facts.push(
    [
      'Stored envelopes',
      `${c.stored.envelopes}${c.stored.lastStoredAt ? ` (last stored ${when(c.stored.lastStoredAt)})` : ''}`,
    ],
    ['Quarantined envelopes', String(c.stored.quarantined)],
    ['Unreadable stored lines', String(c.stored.unreadableLines)],
  );
  out.push({ type: 'facts', items: facts });

  out.push({ type: 'heading', text: 'Snapshots' });
  out.push({
    type: 'table',
    columns: ['Kind', 'Snapshots', 'Latest', 'Objects', 'Changes'],
    rows: c.snapshots.map((s) => [
      KIND_TITLES[s.kind],
      String(s.snapshots),
      s.latest ? when(s.latest.takenAt) : muted('none yet'),
      s.latest ? String(s.latest.count) : '—',
      s.changes
        ? `+${s.changes.added} −${s.changes.removed} ~${s.changes.changed}`
        : muted(s.latest ? 'first snapshot' : '—'),
    ]),
  });

  out.push({ type: 'heading', text: 'Open errors' });
  if (c.live.state !== 'answered') {
    out.push({
      type: 'empty',
      text: `Unknown: ${c.live.state === 'unavailable' ? 'Temporal did not answer' : 'the live status was not requested'}.`,
    });
  } else if (!c.openErrors.length) {
    out.push({ type: 'empty', text: 'No open errors.' });
  } else {
    out.push({
      type: 'table',
      columns: ['Where', 'Error', 'Since', 'What DocuSign said', 'Fix'],
      rows: c.openErrors.map((e) => [
        e.scope === 'connection' ? 'connection' : KIND_TITLES[e.scope],
        { text: e.code, tone: 'fail', style: 'code' },
        when(e.at),
        e.message,
        e.hint,
      ]),
    });
  }
  return out;
}

// ---- access review ----

function accessReviewBlocks(ar: AccessReviewSection): Block[] {
  const out: Block[] = [];
  const users = ar.users;
  if (!users) {
    out.push({
      type: 'empty',
      text: 'No users snapshot has been taken yet: users, administrators and logins are unknown.',
    });
  } else {
    const statuses = users.byStatus.map((s) => `${s.count} ${s.status}`).join(', ');
    out.push({
      type: 'paragraph',
      text: `As of the users snapshot of ${when(users.snapshot.takenAt)}: ${plural(users.total, 'user')} (${statuses || 'none'})${
        users.previous ? `; compared with the snapshot of ${when(users.previous.takenAt)}` : ''
      }.`,
    });
  }
  const missing = (text: string): Block => ({ type: 'empty', text: users ? text : 'No users snapshot yet.' });

  out.push({ type: 'heading', text: 'Users by permission profile' });
  out.push(
    ar.profiles.length
      ? {
          type: 'table',
          columns: ['Permission profile', 'Users', 'Active'],
          rows: ar.profiles.map((p) => [p.name, String(p.users), String(p.activeUsers)]),
        }
      : missing('No permission profiles.'),
  );

  out.push({ type: 'heading', text: `Administrators (${ar.administrators.length})` });
  out.push(
    ar.administrators.length
      ? {
          type: 'table',
          columns: ['Name', 'Email', 'Status', 'Permission profile', 'Why an administrator'],
          rows: ar.administrators.map((a) => [
            a.name,
            a.email ?? '—',
            a.status ?? '—',
            a.permissionProfile ?? '—',
            a.reasons.map((r) => (r === 'isAdmin' ? 'isAdmin' : 'Account Administrator profile')),
          ]),
        }
      : missing('No user is an administrator.'),
  );

  out.push({ type: 'heading', text: 'Closed or removed since the previous snapshot' });
  out.push(
    ar.closedOrRemoved.length
      ? {
          type: 'table',
          columns: ['Name', 'Email', 'Change', 'Status'],
          rows: ar.closedOrRemoved.map((u) => [
            u.name,
            u.email ?? '—',
            u.change === 'closed' ? 'closed' : 'removed from the account',
            u.status ?? '—',
          ]),
        }
      : missing(
          users?.previous ? 'No user was closed or removed.' : 'Only one users snapshot: nothing to compare yet.',
        ),
  );

  out.push({ type: 'heading', text: `Active users with no login in ${ar.inactivityDays} days` });
  out.push(
    ar.inactive.length
      ? {
          type: 'table',
          columns: ['Name', 'Email', 'Permission profile', 'Last login', 'Days'],
          rows: ar.inactive.map((u) => [
            u.name,
            u.email ?? '—',
            u.permissionProfile ?? '—',
            u.lastLogin === null ? muted('never') : when(u.lastLogin),
            u.daysSinceLogin === null ? '—' : String(u.daysSinceLogin),
          ]),
        }
      : missing(`Every active user signed in within ${ar.inactivityDays} days.`),
  );

  out.push({ type: 'heading', text: 'Changes since the previous snapshot' });
  out.push({ type: 'facts', items: ar.changes.map((k) => [KIND_TITLES[k.kind], changeSummary(k)]) });
  const rows = ar.changes.flatMap((k) => changeRows(k));
  if (rows.length) out.push({ type: 'table', columns: ['Kind', 'Change', 'Object', 'Fields and members'], rows });
  return out;
}

function changeSummary(k: KindChanges): Cell {
  if (!k.snapshot) return muted('no snapshot yet');
  if (!k.previous) return muted(`first snapshot (${when(k.snapshot.takenAt)}): nothing to compare`);
  const counts = `${k.added.length} added, ${k.removed.length} removed, ${k.changed.length} changed`;
  return `${counts} between ${when(k.previous.takenAt)} and ${when(k.snapshot.takenAt)}`;
}

function changeRows(k: KindChanges): Cell[][] {
  const kind = KIND_TITLES[k.kind];
  return [
    ...k.added.map((n): Cell[] => [kind, 'added', named(n), '']),
    ...k.removed.map((n): Cell[] => [kind, 'removed', named(n), '']),
    ...k.changed.map((c): Cell[] => {
      const lines: Text[] = [];
      const fields = c.fields.filter((f) => f !== 'members');
      if (fields.length) lines.push(code(fields.join(', ')));
      if (c.membersAdded?.length) lines.push(`joined: ${c.membersAdded.map(named).join(', ')}`);
      if (c.membersRemoved?.length) lines.push(`left: ${c.membersRemoved.map(named).join(', ')}`);
      return [kind, 'changed', named(c), lines];
    }),
  ];
}

// ---- security posture ----

function postureBlocks(sp: SecurityPostureSection): Block[] {
  return [
    sp.snapshot
      ? {
          type: 'paragraph',
          text: `From the account-settings snapshot of ${when(sp.snapshot.takenAt)}. The baselines are this report's; a setting DocuSign did not report (absent or null) is "not reported", not a failure.`,
        }
      : { type: 'empty', text: 'No account-settings snapshot has been taken yet: every check is not reported.' },
    {
      type: 'table',
      columns: ['Check', 'Account', 'Baseline', 'Result', 'Why this baseline'],
      rows: sp.checks.map((c) => [
        [c.label, code(c.fields.join(', '))],
        c.actual ?? muted('not reported'),
        c.baseline,
        RESULT_TEXT[c.result],
        c.why,
      ]),
    },
  ];
}

// ---- signed proof ----

function describePolicy(policy: SignedProofPolicy | null): string {
  if (policy === null) return 'not known to this report: every completed envelope is listed';
  if (policy === 'none') return 'none: no signed proof is collected';
  if (policy === 'all-completed') return 'every completed envelope';
  const parts = [
    policy.templateIds?.length && `sent from template ${policy.templateIds.join(' or ')}`,
    policy.subjectContains?.length && `subject contains ${policy.subjectContains.map((s) => `"${s}"`).join(' or ')}`,
  ].filter(Boolean);
  return `completed envelopes ${parts.join(', or whose ')}`;
}

function proofBlocks(p: SignedProofSection): Block[] {
  const out: Block[] = [
    {
      type: 'facts',
      items: [
        ['Policy', describePolicy(p.policy)],
        ['Completed in the period', String(p.completedInPeriod)],
        [
          'Listed below',
          `${p.envelopes.length}${p.notSelected ? ` (${p.notSelected} not selected by the policy)` : ''}`,
        ],
        ['Proof entries', `${p.counts.collected} collected, ${p.counts.pending} pending, ${p.counts.failed} failed`],
      ],
    },
  ];
  if (p.envelopes.length) {
    out.push({
      type: 'table',
      columns: ['Completed', 'Envelope', 'Signers', 'Proof', 'Certificate SHA-256'],
      rows: p.envelopes.map((e) => [
        when(e.completedAt),
        [e.subject ?? muted('(no subject)'), code(e.envelopeId)],
        e.signers.length
          ? e.signers.flatMap((s): Text[] => [
              [s.name, s.email && `<${s.email}>`].filter(Boolean).join(' ') || '(unnamed)',
              muted(s.signedAt ? `signed ${when(s.signedAt)}` : (s.status ?? 'not signed')),
            ])
          : muted('no signers recorded'),
        e.proof === 'collected'
          ? { text: 'collected', tone: 'pass' }
          : e.proof === 'failed'
            ? { text: 'failed', tone: 'fail' }
            : muted(e.proof === 'none' ? 'no entry' : e.proof),
        e.certificateSha256 ? { text: e.certificateSha256, style: 'hash' } : muted('—'),
      ]),
    });
  } else {
    out.push({
      type: 'empty',
      text: p.completedInPeriod
        ? `None of the ${plural(p.completedInPeriod, 'envelope')} completed in the period is selected by the policy.`
        : 'No envelope was completed in the period.',
    });
  }

  out.push({ type: 'heading', text: 'Still pending or failed' });
  if (!p.outstanding.length) out.push({ type: 'empty', text: 'Nothing pending or failed.' });
  else {
    out.push({
      type: 'table',
      columns: ['Envelope', 'State', 'Attempts', 'Next attempt', 'Last error'],
      rows: p.outstanding.map((o) => [
        [o.subject ?? muted('(not stored)'), code(o.envelopeId)],
        o.state === 'failed' ? { text: 'failed', tone: 'fail' } : 'pending',
        String(o.attempts),
        when(o.nextAttemptAt),
        o.lastError ? [code(o.lastError.code), o.lastError.message, muted(when(o.lastError.at))] : '—',
      ]),
    });
  }
  return out;
}

// ---- chart ----

const CHART_CAPTION =
  'Each stored envelope counted once: in the month (UTC) of its latest status change, with that status.';

function chartBlocks(chart: EnvelopeChart): Block[] {
  return chart.months.length
    ? [{ type: 'chart', chart, caption: CHART_CAPTION }]
    : [{ type: 'empty', text: 'No envelopes in the period: nothing to chart.' }];
}
