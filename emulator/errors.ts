/**
 * Every REST error body the emulator sends, in DocuSign's `ErrorDetails` shape `{errorCode, message}`
 * (docusign-api.md §4.4). Bodies marked [DOCS] are quoted from docusign-api.md; the others are the emulator's
 * choice where the docs are silent, and the reason is given with each.
 */

export interface RestError {
  status: number;
  body: { errorCode: string; message: string };
}

/** [DOCS §4.4] Unknown, expired or revoked bearer token (also a missing Authorization header). */
export const USER_AUTHENTICATION_FAILED: RestError = {
  status: 401,
  body: {
    errorCode: 'USER_AUTHENTICATION_FAILED',
    message: 'One or both of Username and Password are invalid. Invalid access token',
  },
};

/** [DOCS §3.1] listStatusChanges without from_date, envelope_ids or transaction_ids (or an unparseable from_date). */
export const MISSING_FROM_DATE: RestError = {
  status: 400,
  body: {
    errorCode: 'INVALID_REQUEST_PARAMETER',
    message:
      "The request contained at least one invalid parameter. Query parameter 'from_date' must be set to a valid DateTime, or 'envelope_ids' or 'transaction_ids' must be specified.",
  },
};

/** Another invalid query parameter: same errorCode, the emulator names the parameter (docs give no message). */
export function invalidParameter(name: string, detail: string): RestError {
  return {
    status: 400,
    body: {
      errorCode: 'INVALID_REQUEST_PARAMETER',
      message: `The request contained at least one invalid parameter. ${detail} (parameter '${name}').`,
    },
  };
}

/**
 * The account exists and the user is a member, but the call came through another regional host (a stale or
 * hard-coded base URI). The docs only say PARTNER_AUTHENTICATION_FAILED is seen "e.g. wrong base path" (§4.4,
 * S18 java#191); DocuSign's support blog ("From the Trenches", May 2020) gives the message variant
 * "The specified Integrator Key was not found or is disabled. Invalid account specified for user." for calls made
 * against the wrong base URI. The HTTP status is not documented: the emulator uses 400 (the spec's status for
 * nearly every error), so this is not confused with an expired token (401), which a client re-mints for.
 */
export const WRONG_BASE_URI_ERROR_CODE = 'PARTNER_AUTHENTICATION_FAILED';
export const WRONG_BASE_URI: RestError = {
  status: 400,
  body: {
    errorCode: WRONG_BASE_URI_ERROR_CODE,
    message: 'The specified Integrator Key was not found or is disabled. Invalid account specified for user.',
  },
};

/**
 * The token's user is not a member of the account in the path (or the account does not exist). Not in the docs;
 * USER_LACKS_MEMBERSHIP is the code DocuSign uses for this case in the wild. Status 400 as for other errors.
 */
export const USER_LACKS_MEMBERSHIP_ERROR_CODE = 'USER_LACKS_MEMBERSHIP';
export const USER_LACKS_MEMBERSHIP: RestError = {
  status: 400,
  body: {
    errorCode: USER_LACKS_MEMBERSHIP_ERROR_CODE,
    message: 'The UserID does not have a valid membership in this Account.',
  },
};

/** Unknown envelope ID in this account. Code from §4.4's list; status and message are the emulator's choice. */
export const ENVELOPE_DOES_NOT_EXIST: RestError = {
  status: 400,
  body: {
    errorCode: 'ENVELOPE_DOES_NOT_EXIST',
    message: 'The envelope specified either does not exist or you have no rights to it.',
  },
};

/** Unknown document ID in an envelope (emulator's choice; not in the docs). */
export const DOCUMENT_DOES_NOT_EXIST: RestError = {
  status: 400,
  body: { errorCode: 'DOCUMENT_DOES_NOT_EXIST', message: 'The document specified was not found.' },
};

/** Unknown user or group ID in an account (emulator's choice). */
export const NOT_FOUND_IN_ACCOUNT = (what: 'user' | 'group' | 'permission profile'): RestError => ({
  status: 400,
  body: {
    errorCode: what === 'user' ? 'USER_DOES_NOT_EXIST_IN_SYSTEM' : 'INVALID_REQUEST_PARAMETER',
    message: `The ${what} specified does not exist in this account.`,
  },
});

/** A REST path the emulator does not implement (the real service answers unknown routes with 404). */
export const RESOURCE_NOT_FOUND: RestError = {
  status: 404,
  body: { errorCode: 'RESOURCE_NOT_FOUND', message: 'The URL provided does not resolve to a resource.' },
};

/** [DOCS §4.1] Hourly limit; the status (400 or 429) is configurable because the real one is unconfirmed. */
export function hourlyLimitExceeded(limit: number, status: number): RestError {
  return {
    status,
    body: {
      errorCode: 'HOURLY_APIINVOCATION_LIMIT_EXCEEDED',
      message: `The maximum number of hourly API invocations has been exceeded. The hourly limit is ${limit}.`,
    },
  };
}

/** [DOCS §4.1, code only] Burst limit; the message mirrors the hourly one. */
export function burstLimitExceeded(limit: number, status: number): RestError {
  return {
    status,
    body: {
      errorCode: 'BURST_APIINVOCATION_LIMIT_EXCEEDED',
      message: `The maximum number of burst API invocations has been exceeded. The burst limit is ${limit}.`,
    },
  };
}

/** [DOCS §4.2, code and status] Too many GETs of one envelope resource; the message is the emulator's. */
export const ENVELOPE_POLLING_LIMIT: RestError = {
  status: 400,
  body: {
    errorCode: 'Hourly_Envelope_Polling_Limit_Exceeded',
    message: 'The maximum number of hourly polling requests for this envelope has been exceeded.',
  },
};

/** [DOCS §3.3] Too many downloads of the same document. */
export const DOCUMENT_THROTTLED: RestError = {
  status: 400,
  body: { errorCode: 'API_REQUEST_IS_THROTTLED', message: 'GetDocument call blocked' },
};

/** Injected failures (faults.failNext); the errorCode follows the HTTP status. Emulator's choice. */
export function injectedFailure(status: number): RestError {
  const byStatus: Record<number, [string, string]> = {
    500: ['INTERNAL_SERVER_ERROR', 'An unexpected error occurred on the server.'],
    502: ['BAD_GATEWAY', 'The server received an invalid response from an upstream server.'],
    503: ['SERVICE_UNAVAILABLE', 'The service is temporarily unavailable. Please try again later.'],
    504: ['GATEWAY_TIMEOUT', 'The upstream server did not respond in time.'],
    401: [USER_AUTHENTICATION_FAILED.body.errorCode, USER_AUTHENTICATION_FAILED.body.message],
    429: ['TOO_MANY_REQUESTS', 'Too many requests. Please try again later.'],
  };
  const [errorCode, message] = byStatus[status] ?? ['UNSPECIFIED_ERROR', `Injected failure with HTTP ${status}.`];
  return { status, body: { errorCode, message } };
}
