/**
 * One snapshot of one kind (design.md §7): every page of the kind fetched, each but the last staged in the evidence
 * store with the position after it; the last is published with the staged ones and the diff. A retried attempt
 * resumes after the last staged page, so a killed worker re-fetches at most the page it was fetching. The account's
 * API budget and reserve are shared with the envelope sync (the same rate-limit waits).
 *
 * What each kind reads (docusign-api.md §6, §10), under {base_uri}/restapi/v2.1/accounts/{accountId}:
 *   users                 /users?additional_info=true&status=<every status>, 100 per page
 *   groups                /groups, 100 per page; then each group's /groups/{id}/users, 100 per page
 *   permission-profiles   /permission_profiles?include=settings
 *   signing-groups        /signing_groups?include_users=true   ({} when the account has none)
 *   account-settings      /settings, then /settings/password_rules
 * Lists page by their counts (nextUri may be missing while more remain); every response is validated.
 */
import { CancelledFailure, Context, type ApplicationFailure } from '@temporalio/activity';
import type { ConnectionConfig } from '../workflows/config';
import { BULK_NON_RETRYABLE_CODES, CONNECTION_FAILURES, isErrorCode } from '../workflows/errors';
import type { SnapshotKind, SnapshotOutcome, SnapshotResult } from '../workflows/evidence';
import type { AccountInfo } from '../workflows/messages';
import {
  nextPageUrl,
  type DocuSignClient,
  type RateLimitSnapshot,
  type RestListEndpoint,
  type RestObjectEndpoint,
} from './docusign';
import { toApplicationFailure, withDetails } from './errors';
import { changeCounts, type SnapshotEntry, type SnapshotPart, type SnapshotStore } from './store/snapshots';
import { respectRateLimit, type SyncOptions } from './sync';
import type { TokenService } from './tokens';

export interface SnapshotInput {
  config: ConnectionConfig;
  account: AccountInfo;
  kind: SnapshotKind;
  /** Decided by the workflow, so retries agree: names the snapshot. */
  takenAt: string;
}

/** A snapshot pass: the kinds due, one after another, all named by the same time. */
export interface SnapshotPassInput {
  config: ConnectionConfig;
  account: AccountInfo;
  kinds: SnapshotKind[];
  /** Decided by the workflow, so retries agree: names each kind's snapshot. */
  takenAt: string;
}

/**
 * Takes every kind of a pass in one activity (one task for the workflow instead of one per kind), with each kind's
 * own failure returned as data so it holds up neither the other kinds nor the connection:
 *   - a failure of the connection itself, or the account's rate limit, ends the pass at once (the rest would fail
 *     the same way), carrying the kinds done so far;
 *   - a failure worth retrying (DocuSign or the store unavailable) fails the pass after the other kinds, so Temporal
 *     retries it; the retry finds the kinds already published and re-reads only the rest;
 *   - a permanent one (a refused request or response) is that kind's outcome.
 * Failures carry the outcomes in their details, so the workflow still learns them when the retries run out.
 */
export async function takeSnapshotPass(
  kinds: readonly SnapshotKind[],
  takeOne: (kind: SnapshotKind) => Promise<SnapshotResult>,
): Promise<SnapshotOutcome[]> {
  const outcomes: SnapshotOutcome[] = [];
  let retryable: ApplicationFailure | undefined;
  for (const kind of kinds) {
    try {
      outcomes.push(await takeOne(kind));
    } catch (err) {
      if (err instanceof CancelledFailure) throw err;
      const failure = toApplicationFailure(err);
      const code = isErrorCode(failure.type) ? failure.type : 'internal_error';
      if (CONNECTION_FAILURES.includes(code) || code === 'rate_limited') {
        throw withDetails(failure, { snapshots: outcomes });
      }
      outcomes.push({ kind, failed: { code, message: failure.message } });
      if (!failure.nonRetryable && !BULK_NON_RETRYABLE_CODES.includes(code)) retryable ??= failure;
    }
  }
  if (retryable) throw withDetails(retryable, { snapshots: outcomes });
  return outcomes;
}

/** One list (or object) still to read; `url` is its next page. Saved with every staged page. */
interface Traversal {
  endpoint: RestListEndpoint | RestObjectEndpoint;
  url: string;
  /** Lists: the total the first page reported; a different one later means the list shifted under the offsets. */
  total?: number;
  /** Lists: where the items are and what identifies one. */
  itemsKey?: string;
  idField?: string;
  /** Objects: the record ID to store the object under. */
  objectId?: string;
  /** Member lists: the group they belong to. */
  membersOf?: string;
  /** Group lists: read each group's members afterwards. */
  withMembers?: boolean;
}

interface SnapshotProgress {
  queue: Traversal[];
  rateLimit?: RateLimitSnapshot;
}

const PAGE_SIZE = 100; // the users and groups lists' maximum `count`
const EVERY_USER_STATUS = 'ActivationRequired,ActivationSent,Active,Closed,Disabled';

/** The lists a kind reads, in order. */
function traversalsOf(kind: SnapshotKind, accountBase: string): Traversal[] {
  const page = `count=${PAGE_SIZE}&start_position=0`;
  switch (kind) {
    case 'users':
      return [
        {
          endpoint: 'users',
          url: `${accountBase}/users?additional_info=true&status=${EVERY_USER_STATUS}&${page}`,
          itemsKey: 'users',
          idField: 'userId',
        },
      ];
    case 'groups':
      return [
        {
          endpoint: 'groups',
          url: `${accountBase}/groups?${page}`,
          itemsKey: 'groups',
          idField: 'groupId',
          withMembers: true,
        },
      ];
    case 'permission-profiles':
      return [
        {
          endpoint: 'permission-profiles',
          url: `${accountBase}/permission_profiles?include=settings`,
          itemsKey: 'permissionProfiles',
          idField: 'permissionProfileId',
        },
      ];
    case 'signing-groups':
      return [
        {
          endpoint: 'signing-groups',
          url: `${accountBase}/signing_groups?include_users=true`,
          itemsKey: 'groups',
          idField: 'signingGroupId',
        },
      ];
    case 'account-settings':
      return [
        { endpoint: 'settings', url: `${accountBase}/settings`, objectId: 'accountSettings' },
        { endpoint: 'password-rules', url: `${accountBase}/settings/password_rules`, objectId: 'passwordRules' },
      ];
  }
}

const membersOf = (accountBase: string, groupId: string): Traversal => ({
  endpoint: 'group-members',
  url: `${accountBase}/groups/${encodeURIComponent(groupId)}/users?count=${PAGE_SIZE}&start_position=0`,
  itemsKey: 'users',
  idField: 'userId',
  membersOf: groupId,
});

export async function takeSnapshot(
  deps: {
    docusign: DocuSignClient;
    tokens: TokenService;
    store: SnapshotStore;
    options: Pick<SyncOptions, 'reservePercent' | 'maxInlineWaitMs' | 'now'>;
  },
  input: SnapshotInput,
): Promise<SnapshotResult> {
  const { docusign, tokens, store, options } = deps;
  const ctx = Context.current();
  const { connectionId } = input.config;
  const { kind, takenAt } = input;
  const restBase = `${input.account.baseUri.replace(/\/+$/, '')}/restapi`;
  const accountBase = `${restBase}/v2.1/accounts/${encodeURIComponent(input.account.accountId)}`;
  let pages = 0;
  const ticker = setInterval(() => ctx.heartbeat({ kind, pages }), 5_000);
  try {
    // Published already by an earlier attempt that failed before it could return: done. Only a retry can find that,
    // so a first attempt does not read the index for it.
    const published =
      ctx.info.attempt > 1 && (await store.snapshots(connectionId, kind)).find((e) => e.snapshotId === takenAt);
    if (published) return resultOf(published);
    const staged = await store.stagedProgress(connectionId, kind, takenAt);
    const progress = (staged?.progress as SnapshotProgress | undefined) ?? { queue: traversalsOf(kind, accountBase) };
    pages = staged?.pages ?? 0;
    if (staged) ctx.log.info('snapshot resumes', { connectionId, kind, pagesDone: pages, attempt: ctx.info.attempt });

    while (progress.queue.length) {
      if (ctx.cancellationSignal.aborted) await ctx.cancelled;
      const budget = docusign.lastRateLimit(input.account.accountId) ?? progress.rateLimit;
      await respectRateLimit(budget, options, docusign.burstRetryMs, ctx);
      const [current, ...rest] = progress.queue as [Traversal, ...Traversal[]];
      const { parts, next, total, more, rateLimit } = await tokens.withToken(input.config, (token) =>
        readPage(docusign, current, token, restBase, accountBase),
      );
      const queue = [...(next ? [{ ...current, url: next, total }] : []), ...rest, ...more];
      // The last page is published, not staged: one write fewer per snapshot (most kinds are one page).
      if (!queue.length) return resultOf(await store.publish(connectionId, kind, takenAt, takenAt, parts));
      await store.stagePage(connectionId, kind, takenAt, parts, { queue, rateLimit } satisfies SnapshotProgress);
      Object.assign(progress, { queue, rateLimit });
      pages += 1;
      ctx.heartbeat({ kind, pages });
    }
    // Only staging left by a worker that staged the last page too (before it went straight to publish) gets here.
    return resultOf(await store.publish(connectionId, kind, takenAt, takenAt));
  } catch (err) {
    if (err instanceof CancelledFailure) throw err;
    throw toApplicationFailure(err);
  } finally {
    clearInterval(ticker);
  }
}

/** The same list query from its first item. */
function startOf(url: string): string {
  const first = new URL(url);
  first.searchParams.set('start_position', '0');
  return first.toString();
}

function resultOf(entry: SnapshotEntry): SnapshotResult {
  return {
    kind: entry.kind,
    takenAt: entry.takenAt,
    count: entry.count,
    ...(entry.diff ? { changes: changeCounts(entry.diff) } : {}),
    ...(entry.sameAs ? { sameAs: entry.sameAs } : {}),
  };
}

/** Reads one page of a traversal: the parts to stage, the traversal's next page, and traversals it adds. */
async function readPage(
  docusign: DocuSignClient,
  current: Traversal,
  token: string,
  restBase: string,
  accountBase: string,
): Promise<{ parts: SnapshotPart[]; next?: string; total?: number; more: Traversal[]; rateLimit: RateLimitSnapshot }> {
  if (current.objectId !== undefined) {
    const { object, rateLimit } = await docusign.getObject(current.endpoint as RestObjectEndpoint, current.url, token);
    return { parts: [{ id: current.objectId, object }], more: [], rateLimit };
  }
  const list = { itemsKey: current.itemsKey ?? '', idField: current.idField ?? '' };
  const { items, paging, rateLimit } = await docusign.listPage(
    current.endpoint as RestListEndpoint,
    current.url,
    token,
    list,
  );
  // Offset paging over a list that shifted (someone added or removed meanwhile) could skip an item: read the list
  // again from its start. The store keeps the first copy of an item read twice.
  const shifted = current.total !== undefined && paging.totalSetSize !== current.total;
  const next = shifted ? startOf(current.url) : nextPageUrl(current.url, paging, restBase);
  if (current.membersOf !== undefined) {
    // An empty chunk too: every group's record is assembled where its members begin.
    return {
      parts: [{ id: current.membersOf, members: items }],
      next,
      total: paging.totalSetSize,
      more: [],
      rateLimit,
    };
  }
  const ids = items.map((item) => item[list.idField] as string);
  return {
    parts: items.map((object, i) => ({ id: ids[i]!, object })),
    next,
    total: paging.totalSetSize,
    more: current.withMembers ? ids.map((id) => membersOf(accountBase, id)) : [],
    rateLimit,
  };
}
