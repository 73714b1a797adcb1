// errors.js: McpOAuthError, the one error type of this module, and how
// whatever was thrown (a rejection from the engine, a DOMException, an
// abort) becomes one. The codes are the engine's (contract.js).

export class McpOAuthError extends Error {
  constructor({ code, message, oauthError, oauthErrorDescription, status, url, reason } = {}) {
    super(message || code || 'mcp-oauth error');
    this.name = 'McpOAuthError';
    this.code = code || 'invalid_config';
    if (oauthError) this.oauthError = oauthError;
    if (oauthErrorDescription) this.oauthErrorDescription = oauthErrorDescription;
    if (status) this.status = status;
    if (url) this.url = url;
    if (reason) this.reason = reason;
  }
}

export const fail = (code, message) => new McpOAuthError({ code, message });
export const abortedError = (what = 'the operation') => fail('aborted', `${what} was aborted`);

// toError turns a rejection from Go (a plain {code, message} object) or any
// thrown value into an McpOAuthError.
export function toError(e) {
  if (e instanceof McpOAuthError) return e;
  if (e && typeof e === 'object' && typeof e.code === 'string' && typeof e.message === 'string') return new McpOAuthError(e);
  if (e && e.name === 'AbortError') return abortedError();
  if (e && e.name === 'TimeoutError') return fail('timeout', String(e.message || 'the operation timed out'));
  return fail('invalid_config', String((e && e.message) || e));
}

// goCall awaits a call into the engine and maps its rejection.
export async function goCall(promise) {
  try {
    return await promise;
  } catch (e) {
    throw toError(e);
  }
}

// abortable settles like promise, except that it rejects with aborted as
// soon as signal aborts (after calling onAbort), whatever promise does.
export function abortable(promise, signal, onAbort, what) {
  if (!signal) return promise;
  return new Promise((resolve, reject) => {
    const abort = () => {
      if (onAbort) onAbort();
      reject(abortedError(what));
    };
    if (signal.aborted) return abort();
    signal.addEventListener('abort', abort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}
