/**
 * The config a connection runs with, where the workflow's `config` query cannot say: read from the run's history as
 * the start input plus every `credentialsUpdated` since, merged as the workflow merges them. ConnectorClient.config
 * asks the query first and comes here only for a closed run, when no worker answers, or when the run's worker predates
 * the query (it answers "did not register a handler for config").
 */
import type { Payload } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { isDeepStrictEqual } from 'node:util';
import {
  CONFIG_FIELDS,
  checkCredentialsUpdate,
  parseConnectionConfig,
  type ConnectionConfig,
} from '../workflows/config';
import { credentialsUpdatedSignal } from '../workflows/messages';
import { ConnectorClientError } from './errors';

/** Payloads as stored in history → values (through the client's codecs and the default converter). */
export type DecodePayloads = (payloads: Payload[]) => Promise<unknown[]>;

export async function configFromHistory(
  history: temporal.api.history.v1.IHistory,
  decode: DecodePayloads,
): Promise<ConnectionConfig> {
  const events = history.events ?? [];
  const startPayloads = events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads;
  if (!startPayloads?.length) throw new ConnectorClientError('start input not found in the history');
  const [start] = await decode(startPayloads);
  let config = parseConnectionConfig(start);
  for (const event of events) {
    const signaled = event.workflowExecutionSignaledEventAttributes;
    if (signaled?.signalName !== credentialsUpdatedSignal.name || !signaled.input?.payloads?.length) continue;
    const [update] = await decode(signaled.input.payloads);
    // The workflow ignores an update that does not validate; so does this.
    const parsed = checkCredentialsUpdate(update);
    if (parsed.ok) config = { ...config, ...parsed.value };
  }
  return config;
}

/** Every config field but the ID, from the checks themselves, so a field added there is compared too. */
const COMPARED_FIELDS = CONFIG_FIELDS.filter((field) => field !== 'connectionId');

/** The fields whose value in `wanted` differs from the running config (`connect` reports them as not applied). */
export function differences(running: ConnectionConfig, wanted: ConnectionConfig): (keyof ConnectionConfig)[] {
  // signedProof may be an object: compared by value.
  return COMPARED_FIELDS.filter((field) => !isDeepStrictEqual(running[field], wanted[field]));
}
