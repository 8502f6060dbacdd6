/**
 * The auditor's report (client/report, issue 13 point 3) from a scripted account in a directory store: every fact
 * against the account's truth, each section present with and without data, hostile values kept as text, and the
 * same facts in HTML, Markdown and JSON.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DirectoryStore, type EvidenceStore } from '../activities/store';
import { axisScale, chartSvg } from '../client/report/chart';
import { buildReport, loadReport, renderReport, type Report } from '../client/report';
import { SECTIONS } from '../client/report/model';
import { MAX_SESSION_TIMEOUT_MINUTES, MIN_PASSWORD_LENGTH } from '../client/report/posture';
import { InvalidConfigError } from '../workflows/config';
import {
  ENVELOPES,
  FakeProofStore,
  FIRST_SNAPSHOT,
  HOSTILE,
  liveStatus,
  NOW,
  POSTURE_TRUTH,
  proofEntries,
  scriptAccount,
  SECOND_SNAPSHOT,
  sha256,
  TRUTH,
} from './helpers/report-account';

const C = 'acme';
let dir: string;
let store: EvidenceStore;

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'report-test-'));
  store = new DirectoryStore(path.join(dir, 'evidence'));
  await store.init();
  await scriptAccount(store, C);
});
after(async () => {
  await store.close();
  await fs.rm(dir, { recursive: true, force: true });
});

const full = (extra: Partial<Parameters<typeof loadReport>[0]> = {}) =>
  loadReport({
    store,
    connectionId: C,
    now: NOW,
    status: liveStatus(C),
    policy: 'all-completed',
    proof: new FakeProofStore(proofEntries()),
    ...extra,
  });

/** An empty connection in the same store: nothing stored for it. */
const empty = (extra: Partial<Parameters<typeof loadReport>[0]> = {}) =>
  loadReport({ store, connectionId: 'nothing-here', now: NOW, ...extra });

/** The truth of the chart, counted straight from the scripted envelopes. */
function monthsTruth(since = ''): Map<string, Map<string, number>> {
  const months = new Map<string, Map<string, number>>();
  for (const e of ENVELOPES) {
    if (e.statusChangedDateTime < since) continue;
    const m = months.get(e.statusChangedDateTime.slice(0, 7)) ?? new Map<string, number>();
    m.set(e.status, (m.get(e.status) ?? 0) + 1);
    months.set(e.statusChangedDateTime.slice(0, 7), m);
  }
  return months;
}

describe('report facts', () => {
  it('access review: profiles, administrators, closed and removed users, 90-day inactivity against a fixed now', async () => {
    const { accessReview: ar } = await full();
    assert.equal(ar.users?.total, TRUTH.users);
    assert.equal(ar.users?.snapshot.takenAt, SECOND_SNAPSHOT);
    assert.equal(ar.users?.previous?.takenAt, FIRST_SNAPSHOT);
    assert.deepEqual(ar.users?.byStatus, [
      { status: 'Active', count: 7 },
      { status: 'ActivationSent', count: 1 },
      { status: 'Closed', count: 1 },
    ]);
    assert.deepEqual(
      ar.profiles.map(({ name, users, activeUsers }) => ({ name, users, activeUsers })),
      TRUTH.profiles,
    );
    assert.deepEqual(
      ar.administrators.map((a) => [a.name, a.reasons]),
      [
        ['Alice Admin', ['isAdmin', 'accountAdministratorProfile']],
        ['Bob Builder', ['isAdmin']], // "true" in lower case
        ['Carol Casing', ['accountAdministratorProfile']], // "account administrator", matched by profile ID too
      ],
    );
    assert.deepEqual(
      ar.closedOrRemoved.map((u) => [u.name, u.change, u.status]),
      [
        ['Erin Leaver', 'closed', 'Closed'],
        ['Frank Gone', 'removed', 'Active'],
      ],
    );
    assert.deepEqual(
      ar.inactive.map((u) => ({ name: u.name, days: u.daysSinceLogin })),
      TRUTH.inactive,
      '89 days ago is recent, 91 is not; never logged in counts; closed and not-yet-activated users do not',
    );
    assert.equal(ar.inactive.find((u) => u.name === 'Dave Never')?.lastLogin, null);
  });

  it('changes since the previous snapshot: added, removed, changed fields, group joins and leaves, by name', async () => {
    const { accessReview: ar } = await full();
    const byKind = new Map(ar.changes.map((k) => [k.kind, k]));
    assert.deepEqual(byKind.get('users'), {
      kind: 'users',
      snapshot: { snapshotId: SECOND_SNAPSHOT, takenAt: SECOND_SNAPSHOT, count: 9 },
      previous: { snapshotId: FIRST_SNAPSHOT, takenAt: FIRST_SNAPSHOT, count: 9 },
      added: [{ id: 'u-gina', name: 'Gina New' }],
      removed: [{ id: 'u-frank', name: 'Frank Gone' }],
      changed: [
        { id: 'u-bob', name: 'Bob Builder', fields: ['isAdmin'] },
        { id: 'u-erin', name: 'Erin Leaver', fields: ['userStatus'] },
      ],
    });
    const groups = byKind.get('groups')!;
    assert.deepEqual(groups.added, [{ id: 'g-legal', name: 'Legal' }]);
    assert.deepEqual(groups.changed, [
      {
        id: 'g-fin',
        name: 'Finance',
        fields: ['members'],
        membersAdded: [{ id: 'u-dave', name: 'Dave Never' }],
        membersRemoved: [{ id: 'u-frank', name: 'Frank Gone' }], // named from the previous users snapshot
      },
    ]);
    assert.deepEqual(byKind.get('account-settings')?.changed, [
      { id: 'accountSettings', name: 'Account settings', fields: ['sessionTimeout'] },
    ]);
    assert.deepEqual(byKind.get('permission-profiles')?.changed, []);
    assert.deepEqual(byKind.get('signing-groups'), { kind: 'signing-groups', added: [], removed: [], changed: [] });
  });

  it('security posture: each setting against its stated baseline; absent or null is not reported', async () => {
    const { securityPosture: sp } = await full();
    assert.equal(sp.snapshot?.takenAt, SECOND_SNAPSHOT);
    assert.deepEqual(Object.fromEntries(sp.checks.map((c) => [c.id, c.result])), POSTURE_TRUTH);
    const check = (id: string) => sp.checks.find((c) => c.id === id)!;
    assert.equal(check('password-minimum-length').actual, '8 characters');
    assert.equal(check('password-minimum-length').baseline, `at least ${MIN_PASSWORD_LENGTH} characters`);
    assert.equal(check('session-timeout').actual, '60 minutes');
    assert.equal(check('session-timeout').baseline, `at most ${MAX_SESSION_TIMEOUT_MINUTES} minutes idle`);
    assert.equal(check('phone-authentication').actual, 'enabled', '"True" read case-insensitively');
    assert.equal(check('sms-authentication').actual, null);
    for (const c of sp.checks) assert.ok(c.why.length > 10 && c.fields.length > 0, c.id);
  });

  it('signed proof: completed envelopes with signers, completion time and certificate SHA-256; what is pending', async () => {
    const { signedProof: p } = await full();
    assert.equal(p.policy, 'all-completed');
    assert.equal(p.completedInPeriod, 6);
    assert.deepEqual(
      p.envelopes.map((e) => [e.envelopeId, e.completedAt, e.proof, e.certificateSha256]),
      [
        ['e01', '2026-01-10T10:00:00.000Z', 'collected', sha256('certificate of e01')],
        ['e03', '2026-03-02T10:00:00.000Z', 'collected', sha256('certificate of e03')],
        ['e04', '2026-03-15T10:00:00.000Z', 'pending', undefined],
        ['e08', '2026-05-05T10:00:00.000Z', 'failed', undefined],
        ['e09', '2026-06-10T10:00:00.000Z', 'collected', sha256('certificate of e09')],
        ['e10', '2026-06-15T23:30:00.000Z', 'none', undefined], // zoneless completedDateTime read as UTC
      ],
    );
    assert.deepEqual(p.envelopes[1]?.signers, [
      { name: 'Bob Builder', email: 'u-bob@example.test', status: 'completed', signedAt: '2026-03-01T10:00:00.000Z' },
      {
        name: 'Carol Casing',
        email: 'u-carol@example.test',
        status: 'completed',
        signedAt: '2026-03-02T09:00:00.000Z',
      },
    ]);
    assert.deepEqual(p.counts, { collected: 3, pending: 1, failed: 1 });
    assert.deepEqual(
      p.outstanding.map((o) => [o.envelopeId, o.state, o.subject, o.lastError?.code]),
      [
        ['e04', 'pending', 'Vendor contract: Acme', 'rate_limited'],
        ['e08', 'failed', 'NDA: Dave', 'request_rejected'],
      ],
    );
  });

  it('the period (--since) limits the proof rows and the chart; a date means midnight UTC; a bad one is refused', async () => {
    const r = await full({ since: '2026-03-01' });
    assert.equal(r.period.since, '2026-03-01T00:00:00.000Z');
    assert.equal(r.signedProof.completedInPeriod, 5);
    assert.deepEqual(
      r.signedProof.envelopes.map((e) => e.envelopeId),
      ['e03', 'e04', 'e08', 'e09', 'e10'],
    );
    assert.equal(r.signedProof.outstanding.length, 2, 'the backlog is shown whatever the period');
    assert.deepEqual(
      r.envelopesByMonth.months.map((m) => m.month),
      ['2026-03', '2026-04', '2026-05', '2026-06'],
    );
    await assert.rejects(full({ since: 'last tuesday' }), InvalidConfigError);
    await assert.rejects(full({ since: '2026-02-30' }), /since: must be an ISO date/);
  });

  it('policies: none lists nothing; a template or subject policy lists what it selected, not the unselected', async () => {
    const none = await full({ policy: 'none', proof: new FakeProofStore() });
    assert.deepEqual(none.signedProof.envelopes, []);
    assert.equal(none.signedProof.notSelected, 6);

    const entries = proofEntries().map((e) => (e.envelopeId === 'e03' ? { ...e, state: 'unselected' as const } : e));
    const subject = await full({ policy: { subjectContains: ['NDA'] }, proof: new FakeProofStore(entries) });
    assert.deepEqual(
      subject.signedProof.envelopes.map((e) => e.envelopeId),
      ['e01', 'e04', 'e08', 'e09'],
    );
    assert.equal(subject.signedProof.notSelected, 2, 'e03 (unselected) and e10 (no entry)');
    assert.deepEqual(subject.signedProof.counts, { collected: 2, pending: 1, failed: 1 });

    // No proof store given: the store's own, which holds no proof for this connection.
    const unknown = await full({ policy: undefined, proof: undefined });
    assert.equal(unknown.signedProof.policy, null);
    assert.deepEqual(unknown.signedProof.counts, { collected: 0, pending: 0, failed: 0 });
    assert.equal(unknown.signedProof.envelopes.length, 6, 'policy unknown: every completed envelope');
    assert.ok(unknown.signedProof.envelopes.every((e) => e.proof === 'none'));
  });

  it('chart: one bar per month from first to last (empty months included), counts per status as stored', async () => {
    const { envelopesByMonth: chart } = await full();
    const truth = monthsTruth();
    assert.deepEqual(
      chart.months.map((m) => m.month),
      ['2026-01', '2026-02', '2026-03', '2026-04', '2026-05', '2026-06'],
    );
    for (const m of chart.months) {
      assert.deepEqual(m.counts, Object.fromEntries(truth.get(m.month) ?? []), m.month);
      assert.equal(
        m.total,
        [...(truth.get(m.month)?.values() ?? [])].reduce((a, b) => a + b, 0),
      );
    }
    assert.equal(chart.total, ENVELOPES.length);
    assert.deepEqual(chart.statuses, ['sent', 'delivered', 'completed', 'declined', 'voided']);

    const svg = chartSvg(chart);
    const bars = [
      ...svg.matchAll(/<rect class="chart-bar"[^>]*height="([\d.]+)"[^>]*><title>(\S+) (\S+): (\d+)<\/title>/g),
    ];
    const drawn = new Map<string, number>();
    for (const [, height, month, status, count] of bars) {
      assert.ok(Number(height) > 0, `${month} ${status} has a height`);
      drawn.set(`${month} ${status}`, Number(count));
    }
    const expected = new Map([...truth].flatMap(([month, m]) => [...m].map(([s, n]) => [`${month} ${s}`, n] as const)));
    assert.deepEqual(drawn, expected, 'one bar segment per month and status, labelled with its count');
    assert.equal(chartSvg(chart), svg, 'deterministic');
    assert.match(svg, /Envelopes<\/text>/);
    assert.match(svg, /Month of the latest status change \(UTC\)/);
    assert.match(svg, /completed \(6\)/, 'legend with counts');
  });

  it('axis scale: round tops, at most five steps', () => {
    assert.deepEqual(axisScale(0), { top: 1, step: 1 });
    assert.deepEqual(axisScale(3), { top: 3, step: 1 });
    assert.deepEqual(axisScale(7), { top: 8, step: 2 });
    assert.deepEqual(axisScale(42), { top: 50, step: 10 });
    assert.deepEqual(axisScale(1234), { top: 1500, step: 500 });
  });

  it('connection: account, environment, last sync, snapshots and open errors with fixes; never the consent URL', async () => {
    const r = await full();
    const c = r.connection;
    assert.deepEqual(c.live, { state: 'answered' });
    assert.equal(c.environment, 'demo');
    assert.equal(c.account?.accountName, 'Acme Corp');
    assert.equal(c.lastSync?.finishedAt, '2026-06-30T11:00:05.000Z');
    assert.deepEqual(
      c.openErrors.map((e) => [e.scope, e.code]),
      [
        ['connection', 'rate_limited'],
        ['users', 'docusign_unavailable'],
      ],
    );
    assert.ok(c.openErrors.every((e) => e.hint.length > 0));
    assert.deepEqual(c.stored, {
      envelopes: ENVELOPES.length,
      lastStoredAt: '2026-06-30T11:00:03.000Z',
      quarantined: 0,
      unreadableLines: 0,
    });
    assert.deepEqual(
      c.snapshots.map((s) => [s.kind, s.snapshots, s.changes]),
      [
        ['users', 2, { added: 1, removed: 1, changed: 2 }],
        ['groups', 2, { added: 1, removed: 0, changed: 1 }],
        ['permission-profiles', 2, { added: 0, removed: 0, changed: 0 }],
        ['signing-groups', 0, undefined],
        ['account-settings', 2, { added: 0, removed: 0, changed: 1 }],
      ],
    );
    const json = renderReport('json', r);
    assert.doesNotMatch(json, /SECRET-STATE|consentUrl/);
  });

  it('store behind the live status: fewer envelopes or a missing snapshot marks the report incomplete, at the top', async () => {
    assert.equal((await full()).connection.storeBehind, undefined, 'the store holds what the status counts');
    const running = liveStatus(C);
    running.totals.envelopes = ENVELOPES.length - 1; // a sync stored more since the status was read
    assert.equal((await full({ status: running })).connection.storeBehind, undefined);
    assert.equal((await full({ status: { unavailable: 'down' } })).connection.storeBehind, undefined);

    const later = liveStatus(C);
    later.evidence!.users!.lastSnapshotAt = '2026-06-30T12:00:00.000Z'; // newer than the store's latest
    later.totals.envelopes = ENVELOPES.length + 5;
    const behind = (await full({ status: later })).connection.storeBehind;
    assert.deepEqual(behind, {
      envelopes: { stored: ENVELOPES.length, counted: ENVELOPES.length + 5 },
      snapshots: [{ kind: 'users', takenAt: '2026-06-30T12:00:00.000Z' }],
    });

    // Another store (nothing for this connection), as when EVIDENCE_STORE is not the worker's.
    const elsewhere = liveStatus('nothing-here');
    elsewhere.evidence = {
      ...elsewhere.evidence,
      groups: { lastSnapshotAt: SECOND_SNAPSHOT, count: 1 },
      'account-settings': { lastSnapshotAt: FIRST_SNAPSHOT, count: 2 },
    };
    const r = await empty({ status: elsewhere });
    assert.deepEqual(r.connection.storeBehind, {
      envelopes: { stored: 0, counted: ENVELOPES.length },
      snapshots: [
        { kind: 'users', takenAt: SECOND_SNAPSHOT },
        { kind: 'groups', takenAt: SECOND_SNAPSHOT },
        { kind: 'account-settings', takenAt: FIRST_SNAPSHOT },
      ],
    });
    const html = renderReport('html', r);
    const warning = `Incomplete: the evidence store read holds 0 stored envelopes where the workflow counted ${ENVELOPES.length}; no users or groups snapshot of 2026-06-30 00:00 UTC; no account settings snapshot of 2026-06-29 00:00 UTC.`;
    const connection = html.slice(html.indexOf('id="connection"'));
    const at = connection.indexOf(`<p class="warning" role="alert">${warning}`);
    assert.ok(at >= 0 && at < connection.indexOf('<dl class="facts">'), 'the warning opens the connection section');
    assert.match(html, /<dt>Evidence<\/dt><dd><span class="fail">incomplete: see Connection<\/span><\/dd>/);
    assert.ok(renderReport('md', r).includes(`> **Warning:** ${warning}`));
    assert.doesNotMatch(renderReport('html', await full()), /class="warning"|Evidence<\/dt>/);
  });

  it('Temporal down: the report is built from the store and says the live status is missing', async () => {
    const r = await full({ status: { unavailable: 'connect ECONNREFUSED 127.0.0.1:7233' } });
    assert.deepEqual(r.connection.live, { state: 'unavailable', reason: 'connect ECONNREFUSED 127.0.0.1:7233' });
    assert.deepEqual(r.connection.openErrors, []);
    assert.equal(r.accessReview.administrators.length, 3);
    const html = renderReport('html', r);
    assert.match(html, /Temporal did not answer \(connect ECONNREFUSED 127\.0\.0\.1:7233\)/);
    assert.match(html, /Unknown: Temporal did not answer\./);
  });
});

describe('report rendering', () => {
  const headings = SECTIONS.map((s) => s.title);
  const subheadings = [
    'Snapshots',
    'Open errors',
    'Users by permission profile',
    'Administrators',
    'Closed or removed since the previous snapshot',
    'Active users with no login in 90 days',
    'Changes since the previous snapshot',
    'Still pending or failed',
  ];

  it('every section heading is present with data and without, and an empty section says so', async () => {
    for (const report of [await full(), await empty()]) {
      const html = renderReport('html', report);
      const md = renderReport('md', report);
      for (const h of headings) {
        assert.match(html, new RegExp(`<h2>${h}</h2>`), h);
        assert.match(md, new RegExp(`^## ${h}$`, 'm'), h);
      }
      for (const h of subheadings) {
        assert.match(html, new RegExp(`<h3>${h}`), h);
        assert.match(md, new RegExp(`^### ${h}`, 'm'), h);
      }
    }
    const html = renderReport('html', await empty());
    for (const said of [
      'The live status was not requested',
      'No users snapshot has been taken yet',
      'No account-settings snapshot has been taken yet: every check is not reported.',
      'No envelope was completed in the period.',
      'Nothing pending or failed.',
      'No envelopes in the period: nothing to chart.',
    ]) {
      assert.ok(html.includes(said), said);
    }
    assert.doesNotMatch(html, /<svg/, 'no chart without envelopes');
  });

  it('HTML: hostile DocuSign values stay text (names, emails, subjects, statuses); one self-contained document', async () => {
    const c = 'hostile';
    await store.writePage(c, [
      {
        connectionId: c,
        envelopeId: 'h1',
        status: '<img src=x onerror=alert(3)>',
        statusChangedDateTime: '2026-06-01T00:00:00.0000000Z',
        syncedAt: '2026-06-30T00:00:00.000Z',
        envelope: { emailSubject: HOSTILE },
      },
    ]);
    const hostileChart = renderReport('html', await loadReport({ store, connectionId: c, now: NOW }));
    const html = renderReport('html', await full());
    for (const page of [html, hostileChart]) {
      assert.doesNotMatch(page, /<script|<img|onerror=alert\(1\)>/i);
      assert.doesNotMatch(page, /(src|href)=["']?(https?:)?\/\//i, 'nothing fetched');
      assert.match(page, /Content-Security-Policy" content="default-src 'none'/);
    }
    assert.ok(html.includes('&#60;script&#62;alert(&#34;owned&#34;)&#60;/script&#62;'), 'the name is shown as text');
    assert.ok(html.includes('mallory@evil.test&#34;&#62;&#60;img src=x onerror=alert(1)&#62;'));
    assert.ok(hostileChart.includes('&#60;img src=x onerror=alert(3)&#62; (1)'), 'the status in the legend, as text');
  });

  it('Markdown and JSON carry the same facts as the HTML', async () => {
    const r = await full();
    const md = renderReport('md', r);
    const html = renderReport('html', r);
    const json = JSON.parse(renderReport('json', r)) as Report;
    assert.deepEqual(json, JSON.parse(JSON.stringify(r)) as Report, 'JSON is the facts');
    assert.equal(json.schemaVersion, 1);

    const mdEscaped = (s: string) => s.replace(/[\\`*_[\]<>|~&]/g, '\\$&');
    const facts = [
      ...TRUTH.administrators,
      ...TRUTH.closed,
      ...TRUTH.removed,
      ...TRUTH.inactive.map((u) => u.name),
      ...r.signedProof.envelopes.flatMap((e) => (e.certificateSha256 ? [e.certificateSha256] : [])),
      ...r.securityPosture.checks.map((c) => c.baseline),
    ];
    for (const fact of facts) {
      assert.ok(md.includes(mdEscaped(fact)), `Markdown has ${fact}`);
      assert.ok(html.includes(fact.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`)), `HTML has ${fact}`);
    }
    assert.ok(md.includes('\\<script\\>alert("owned")\\</script\\>'), 'hostile text escaped in Markdown');
    assert.doesNotMatch(md, /(?<!\\)<script/);
    // Posture results: one row per check, same verdict.
    for (const c of r.securityPosture.checks) {
      const verdict = { pass: 'Pass', fail: '**Fail**', not_reported: '_Not reported_' }[c.result];
      assert.match(md, new RegExp(`^\\| ${c.label}<br>.*\\| ${verdict.replace(/\*/g, '\\*')} \\|`, 'm'), c.id);
    }
    // The chart as a table: one row per month with the same counts.
    const truth = monthsTruth();
    for (const m of r.envelopesByMonth.months) {
      const counts = r.envelopesByMonth.statuses.map((s) => String(truth.get(m.month)?.get(s) ?? 0));
      assert.ok(md.includes(`| ${m.month} | ${counts.join(' | ')} | ${m.total} |`), m.month);
    }
  });

  it('buildReport renders each format, the same bytes for the same evidence', async () => {
    const options = { store, connectionId: C, now: NOW, status: liveStatus(C), policy: 'all-completed' as const };
    for (const format of ['html', 'md', 'json'] as const) {
      assert.equal((await buildReport(format, options)).text, (await buildReport(format, options)).text, format);
    }
    assert.match((await buildReport('html', options)).text, /^<!doctype html>/);
  });
});

describe('report at scale', () => {
  it('10,000 users and 1,200 envelopes: streamed, the counts exact', async () => {
    const c = 'large';
    const users = Array.from({ length: 10_000 }, (_, i) => ({
      userId: `u${String(i).padStart(5, '0')}`,
      userName: `User ${i}`,
      userStatus: i % 50 === 0 ? 'Closed' : 'Active',
      isAdmin: i % 1000 === 0 ? 'True' : 'False',
      permissionProfileId: String(100 + (i % 4)),
      permissionProfileName: `Profile ${i % 4}`,
      ...(i % 10 !== 0 && { lastLogin: new Date(NOW.getTime() - (i % 200) * 86_400_000).toISOString() }),
    }));
    // Large pages: the store fsyncs per page (and per envelope file); the report is what this test is about.
    for (let page = 0; page < 10; page++) {
      const parts = users.slice(page * 1000, page * 1000 + 1000).map((u) => ({ id: u.userId, object: u }));
      await store.snapshots.stagePage(c, 'users', 's1', parts, { page });
    }
    await store.snapshots.publish(c, 'users', 's1', SECOND_SNAPSHOT);
    for (let page = 0; page < 2; page++) {
      await store.writePage(
        c,
        Array.from({ length: 600 }, (_, j) => {
          const i = page * 600 + j;
          const at = `2025-${String((i % 12) + 1).padStart(2, '0')}-15T00:00:00.0000000Z`;
          const status = i % 3 === 0 ? 'completed' : 'sent';
          return {
            connectionId: c,
            envelopeId: `e${String(i).padStart(5, '0')}`,
            status,
            statusChangedDateTime: at,
            syncedAt: '2026-01-01T00:00:00.000Z',
            envelope: { status, completedDateTime: status === 'completed' ? at : undefined },
          };
        }),
      );
    }
    const started = performance.now();
    const r = await loadReport({ store, connectionId: c, now: NOW, policy: 'none' });
    console.log(`# report of 10,000 users and 1,200 envelopes loaded in ${Math.round(performance.now() - started)} ms`);
    const ended = (u: (typeof users)[number]) => u.userStatus !== 'Active';
    assert.equal(r.accessReview.users?.total, 10_000);
    assert.equal(r.accessReview.administrators.length, 10);
    assert.equal(
      r.accessReview.inactive.length,
      users.filter(
        (u) => !ended(u) && (u.lastLogin === undefined || Date.parse(u.lastLogin) < NOW.getTime() - 90 * 86_400_000),
      ).length,
    );
    assert.deepEqual(
      r.accessReview.profiles.map((p) => p.users),
      [2500, 2500, 2500, 2500],
    );
    assert.equal(r.envelopesByMonth.total, 1200);
    assert.deepEqual(
      r.envelopesByMonth.months.map((m) => m.total),
      Array(12).fill(100),
    );
    assert.equal(r.signedProof.completedInPeriod, 400);
    assert.equal(r.signedProof.notSelected, 400);
    assert.equal(r.signedProof.envelopes.length, 0, 'policy none: no rows held');
  });
});
