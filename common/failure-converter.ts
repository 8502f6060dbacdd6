/**
 * Loaded by path (DataConverter.failureConverterPath, see common/codec.ts): bundled into the workflow sandbox by the
 * worker and `require`d by clients. Keep it free of Node built-ins and I/O.
 *
 * `encodeCommonAttributes` moves every failure's message and stack trace into an encoded payload, so the payload
 * codec encrypts them; the plain `message` field in history becomes "Encoded failure".
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
