// remote.js: calls between the page and the engine's dedicated Worker
// (engine-worker.js), over postMessage. Both ends use it, so that they
// cannot drift apart.
//
// The engine's API is a few objects whose methods take strings, numbers,
// booleans, AbortSignals, callbacks and opaque objects (the host, a
// sign-in's attempt) and return Promises. A Peer carries exactly that:
//
//   {t: 'call', id, ref, method, args}     call ref's method (ref 0: the root)
//   {t: 'ret', id, ok, value | error}      its settled result
//   {t: 'abort', sig}                      an AbortSignal sent earlier aborted
//   {t: 'release', refs}                   handles the other side may drop
//
// An argument that is an AbortSignal becomes a signal on the other side
// that aborts with it; a function becomes a function that calls back; an
// array is carried element by element; any other object becomes a handle:
// a stub whose methods (the object's own function properties, and those of
// its `storage` property) call back, with a copy of its own string, number
// and boolean properties, and which, sent back, is the original object
// again. Handles made for a
// call's arguments live until the call settles; objects returned (the
// engine's clients) live as long as the page.
//
// Errors cross as plain {code, message, ...} objects (what toError reads):
// structured clone would drop an McpOAuthError's code.

const ERROR_FIELDS = ['code', 'message', 'oauthError', 'oauthErrorDescription', 'status', 'url', 'reason'];

function plainError(e) {
  if (e && typeof e === 'object') {
    const o = {};
    for (const k of ERROR_FIELDS) if (e[k] !== undefined && e[k] !== null) o[k] = typeof e[k] === 'number' ? e[k] : String(e[k]);
    if (!o.message) o.message = String(e);
    if (!o.code && (e.name === 'AbortError' || e.name === 'TimeoutError')) o.name = e.name;
    return o;
  }
  return { message: String(e) };
}

function revive(o) {
  if (o && o.name && !o.code) return Object.assign(new Error(o.message), { name: o.name });
  return o;
}

// A signal sent to the other side, with its listener.
class SignalHandle {
  constructor(signal) { this.signal = signal; this.onAbort = null; }
}

const isSignal = (v) => typeof AbortSignal === 'function' && v instanceof AbortSignal;

export class Peer {
  #port;
  #nextId = 1;
  #calls = new Map(); // id → {resolve, reject, refs}
  #handles = new Map(); // ref → object (ours, held for the other side)
  #stubs = new WeakMap(); // stub → the other side's ref
  #controllers = new Map(); // the other side's signal → our AbortController
  #nextRef = 1;

  // root is the object ref 0 names on this side (the engine's API, in the
  // worker).
  constructor(port, root = null) {
    this.#port = port;
    if (root) this.#handles.set(0, root);
    port.addEventListener('message', (e) => this.#receive(e.data));
    port.start?.();
  }

  // stub is the other side's object ref (0: its root) with the given
  // method names; the handles made for the arguments of the methods named
  // in keep live as long as the page (the callee holds on to them).
  stub(methods, ref = 0, { keep = [] } = {}) {
    const s = {};
    for (const m of methods) s[m] = (...args) => this.call(ref, m, args, { keep: keep.includes(m) });
    this.#stubs.set(s, ref);
    return s;
  }

  // call calls the other side's ref.method(...args); opts.keep keeps the
  // handles made for the arguments after the call (an object the callee
  // holds on to, such as a client's host).
  call(ref, method, args, { keep = false } = {}) {
    const id = this.#nextId++;
    const refs = [];
    let encoded;
    try {
      encoded = args.map((a) => this.#encode(a, refs));
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => {
      this.#calls.set(id, { resolve, reject, refs: keep ? [] : refs });
      this.#port.postMessage({ t: 'call', id, ref, method, args: encoded });
    });
  }

  #newRef(obj, refs) {
    const ref = this.#nextRef++;
    this.#handles.set(ref, obj);
    refs.push(ref);
    return ref;
  }

  #encode(v, refs) {
    if (v === null || v === undefined || typeof v !== 'object' && typeof v !== 'function') return v;
    if (this.#stubs.has(v)) return { $back: this.#stubs.get(v) };
    if (isSignal(v)) {
      const h = new SignalHandle(v);
      const ref = this.#newRef(h, refs);
      if (!v.aborted) {
        h.onAbort = () => this.#port.postMessage({ t: 'abort', sig: ref });
        v.addEventListener('abort', h.onAbort, { once: true });
      }
      return { $sig: ref, aborted: v.aborted };
    }
    if (typeof v === 'function') return { $fn: this.#newRef({ call: v }, refs) }; // called as method 'call'
    if (Array.isArray(v)) return { $arr: v.map((x) => this.#encode(x, refs)) };
    const fns = [];
    const props = {};
    for (const k of Object.keys(v)) {
      const x = v[k];
      if (typeof x === 'function') fns.push(k);
      else if (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean') props[k] = x;
    }
    const out = { $obj: this.#newRef(v, refs), fns, props };
    if (v.storage && typeof v.storage === 'object') out.storage = this.#encode(v.storage, refs);
    return out;
  }

  #decode(v) {
    if (v === null || typeof v !== 'object') return v;
    if ('$back' in v) {
      const h = this.#handles.get(v.$back);
      return h instanceof SignalHandle ? h.signal : h;
    }
    if ('$sig' in v) {
      const c = new AbortController();
      if (v.aborted) c.abort();
      else this.#controllers.set(v.$sig, c);
      return c.signal;
    }
    if ('$arr' in v) return v.$arr.map((x) => this.#decode(x));
    if ('$fn' in v) return (...args) => this.call(v.$fn, 'call', args);
    if ('$obj' in v) {
      const s = Object.assign(this.stub(v.fns, v.$obj), v.props);
      if (v.storage) s.storage = this.#decode(v.storage);
      return s;
    }
    return v;
  }

  #release(refs) {
    for (const ref of refs) {
      const h = this.#handles.get(ref);
      if (h instanceof SignalHandle && h.onAbort) h.signal.removeEventListener('abort', h.onAbort);
      this.#handles.delete(ref);
    }
    if (refs.length) this.#port.postMessage({ t: 'release', refs });
  }

  async #receive(m) {
    if (!m || typeof m !== 'object') return;
    switch (m.t) {
      case 'call': {
        let msg;
        try {
          const target = this.#handles.get(m.ref);
          if (!target) throw new Error(`no object ${m.ref} (released)`);
          const fn = target[m.method];
          if (typeof fn !== 'function') throw new Error(`${m.method} is not a function`);
          const result = await fn.apply(target, m.args.map((a) => this.#decode(a)));
          const keep = [];
          msg = { t: 'ret', id: m.id, ok: true, value: this.#encode(result, keep) };
        } catch (e) {
          msg = { t: 'ret', id: m.id, ok: false, error: plainError(e) };
        }
        this.#port.postMessage(msg);
        return;
      }
      case 'ret': {
        const c = this.#calls.get(m.id);
        if (!c) return;
        this.#calls.delete(m.id);
        this.#release(c.refs);
        if (m.ok) c.resolve(this.#decode(m.value));
        else c.reject(revive(m.error));
        return;
      }
      case 'abort': {
        const c = this.#controllers.get(m.sig);
        if (c) {
          this.#controllers.delete(m.sig);
          c.abort();
        }
        return;
      }
      case 'release':
        for (const ref of m.refs) this.#controllers.delete(ref);
        return;
      default:
    }
  }
}
