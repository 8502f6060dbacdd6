/**
 * All I/O of the connector, built by a factory so tests inject fakes (samples-typescript style).
 * Workflows import the *type* of what this returns, never the code.
 */
import { parseConnectionConfig, consentUrlOf, oauthBaseUrlOf, type ConnectionConfig } from '../workflows/config';
import type { SnapshotOutcome, SnapshotResult, SyncResult } from '../workflows/evidence';
import type { AccountInfo } from '../workflows/messages';
import { accountOf, type DocuSignClient } from './docusign';
import { ConnectorError, typed } from './errors';
import type { EvidenceStore } from './store/types';
import { restUrlViolation } from './trust';
import { collectProof, DEFAULT_PROOF_OPTIONS, type ProofInput, type ProofOptions, type ProofResult } from './proof';
import { syncPass, type SyncPassInput, type SyncPassResult } from './pass';
import { takeSnapshot, takeSnapshotPass, type SnapshotInput, type SnapshotPassInput } from './snapshot';
import {
  DEFAULT_SYNC_OPTIONS,
  storeEventEnvelopes,
  syncEnvelopes,
  type EventEnvelopesInput,
  type EventEnvelopesResult,
  type SyncInput,
  type SyncOptions,
} from './sync';
import { trustedOAuthBaseUrl, type TokenService } from './tokens';

export interface ActivityDeps {
  docusign: DocuSignClient;
  tokens: TokenService;
  store: EvidenceStore;
  consent?: {
    /** Default redirect for consent URLs (CONSENT_REDIRECT_URI). */
    redirectUri?: string;
    /** Signs the consent `state` so the callback can trust it; without it no state is added. */
    signState?: (connectionId: string, expiresAt: Date) => string;
    /** How long a signed state is valid (CONSENT_STATE_TTL_HOURS). */
    stateTtlMs?: number;
  };
  sync?: Partial<SyncOptions>;
  proof?: Partial<ProofOptions>;
  /** Whether the namespace has a custom search attribute (the worker asks its Temporal connection). */
  searchAttributeRegistered?: (name: string) => Promise<boolean>;
  now?: () => number;
}

/** A consent URL and, when its `state` is signed, when that state expires (the workflow rebuilds it before). */
export interface ConsentLink {
  url: string;
  expiresAt?: string;
}

/** CONSENT_STATE_TTL_HOURS' default. */
const DEFAULT_CONSENT_STATE_TTL_MS = 168 * 3_600_000;

export interface AuthorizeResult {
  account: AccountInfo;
  token: { expiresAt: string };
}

export function createActivities(deps: ActivityDeps) {
  const now = deps.now ?? Date.now;
  const syncOptions: SyncOptions = { ...DEFAULT_SYNC_OPTIONS, now, ...deps.sync };
  const proofOptions: ProofOptions = { ...DEFAULT_PROOF_OPTIONS, ...deps.proof };
  const syncDeps = { docusign: deps.docusign, tokens: deps.tokens, store: deps.store, options: syncOptions };
  const snapshotDeps = {
    docusign: deps.docusign,
    tokens: deps.tokens,
    store: deps.store.snapshots,
    options: syncOptions,
  };
  /** The snapshot kinds of a pass, each named by the same time (a checked config). */
  const snapshotPass = ({ config, account, kinds, takenAt }: SnapshotPassInput) =>
    takeSnapshotPass(kinds, (kind) => takeSnapshot(snapshotDeps, { config, account, kind, takenAt }));

  return {
    /** The consent URL the platform shows the customer (signed `state` when a secret is configured). */
    async consentUrl(config: ConnectionConfig): Promise<ConsentLink> {
      return typed(async () => {
        const { redirectUri, signState, stateTtlMs = DEFAULT_CONSENT_STATE_TTL_MS } = deps.consent ?? {};
        const creds = checked(config);
        trustedOAuthBaseUrl(creds, deps.docusign.trust); // never show a link that sends the customer elsewhere
        if (!signState) return { url: consentUrlOf(creds, redirectUri) };
        const expiresAt = new Date(now() + stateTtlMs);
        const state = signState(creds.connectionId, expiresAt);
        return { url: consentUrlOf(creds, redirectUri, state), expiresAt: expiresAt.toISOString() };
      });
    },

    /** Mints a new token (JWT Grant). Also the consent probe: fails with `consent_required` until consent exists. */
    async refreshToken(config: ConnectionConfig): Promise<{ expiresAt: string }> {
      return typed(async () => {
        const token = await deps.tokens.get(checked(config), { fresh: true });
        return { expiresAt: new Date(token.expiresAt).toISOString() };
      });
    },

    /** Token plus the account and its regional REST host from /oauth/userinfo. */
    async authorize(config: ConnectionConfig): Promise<AuthorizeResult> {
      return typed(async () => {
        const creds = checked(config);
        const info = await deps.tokens.withToken(creds, (t) => deps.docusign.userInfo(oauthBaseUrlOf(creds), t));
        const token = await deps.tokens.get(creds); // a cache hit: the token userinfo accepted
        const account = accountOf(info, creds.accountId);
        if (!account) {
          throw new ConnectorError(
            'account_not_found',
            creds.accountId
              ? `account ${creds.accountId} is not among the ${info.accounts.length} accounts of user ${creds.userId}`
              : `user ${creds.userId} has no DocuSign accounts`,
          );
        }
        // The sync sends bearer tokens to this host: refuse it here, before the workflow ever stores it.
        const untrusted = restUrlViolation(account.base_uri, deps.docusign.trust);
        if (untrusted) {
          throw new ConnectorError(
            'untrusted_base_uri',
            `userinfo base_uri of account ${account.account_id}: ${untrusted}`,
          );
        }
        return {
          account: {
            accountId: account.account_id,
            ...(account.account_name ? { accountName: account.account_name } : {}),
            baseUri: account.base_uri.replace(/\/+$/, ''),
          },
          token: { expiresAt: new Date(token.expiresAt).toISOString() },
        };
      });
    },

    /** The envelope sync alone: what runs recorded before syncPass schedule until they continue as new. */
    async syncEnvelopes(input: SyncInput): Promise<SyncResult> {
      const config = await typed(async () => checked(input.config));
      // syncEnvelopes converts its own failures so they carry the progress cursor.
      return syncEnvelopes(syncDeps, { ...input, config });
    },

    /** The envelope sync and the snapshot kinds due with it, in one activity (see pass.ts). */
    async syncPass(input: SyncPassInput): Promise<SyncPassResult> {
      const config = await typed(async () => checked(input.config));
      const { snapshotKinds, ...sync } = input;
      return syncPass(
        () => syncEnvelopes(syncDeps, { ...sync, config }),
        () => snapshotPass({ config, account: input.account, kinds: snapshotKinds, takenAt: input.startedAt }),
      );
    },

    /** The snapshots of a pass (users, groups, …), each staged page by page and published with its diff. */
    async takeSnapshots(input: SnapshotPassInput): Promise<SnapshotOutcome[]> {
      const config = await typed(async () => checked(input.config));
      return snapshotPass({ ...input, config });
    },

    /** One kind's snapshot: what runs recorded before takeSnapshots still schedule until their pass ends. */
    async takeSnapshot(input: SnapshotInput): Promise<SnapshotResult> {
      const config = await typed(async () => checked(input.config));
      return takeSnapshot(snapshotDeps, { ...input, config });
    },

    /** Signed proof for the completed envelopes the connection's policy selects, within the budget left. */
    async collectProof(input: ProofInput): Promise<ProofResult> {
      const config = await typed(async () => checked(input.config));
      return collectProof(
        {
          docusign: deps.docusign,
          tokens: deps.tokens,
          store: deps.store,
          options: { ...syncOptions, ...proofOptions },
        },
        { ...input, config },
      );
    },

    /** Whether a search attribute can be set here: false (never a failure) when it is missing or cannot be checked. */
    async searchAttributeRegistered(name: string): Promise<boolean> {
      return (await deps.searchAttributeRegistered?.(name).catch(() => false)) ?? false;
    },

    /** The envelopes Connect events carried, stored without a DocuSign call (the cursor untouched). */
    async storeEventEnvelopes(input: EventEnvelopesInput): Promise<EventEnvelopesResult> {
      return typed(() => storeEventEnvelopes(deps.store, input, now));
    },

    async storedEnvelopeCount(connectionId: string): Promise<number> {
      return typed(() => deps.store.count(connectionId));
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;

/** Activities re-validate: a worker must never act on a config that skipped the client's checks. */
function checked(config: ConnectionConfig): ConnectionConfig {
  try {
    return parseConnectionConfig(config);
  } catch (err) {
    throw new ConnectorError('invalid_config', (err as Error).message);
  }
}
