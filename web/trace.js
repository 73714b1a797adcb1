// trace.js: the trace events the page emits itself (a refresh without the
// engine, a 401 or 403 that client.fetch hands to the engine), in the shape
// and with the header allow-list of the engine's own (trace.go, through
// contract.js). Never a request header or body.

import { CONTRACT } from './contract.js';

export const TRACE_STEPS = CONTRACT.traceSteps;

// traceOf is the trace of one exchange started at started (performance.now()):
// resp is the Response, or null with error when none came back.
export function traceOf(step, method, url, started, resp, error) {
  const t = { step, method, url, status: resp ? resp.status : 0, ms: Math.round((performance.now() - started) * 1000) / 1000 };
  if (resp) {
    for (const k of CONTRACT.traceHeaders) {
      const v = resp.headers.get(k);
      if (v) (t.headers ??= {})[k] = v;
    }
  }
  if (error) t.error = error;
  return t;
}
