'use strict';
// The undici global dispatcher (Symbol.for('undici.globalDispatcher.1'), the
// extension point that undici.request/stream/fetch and every other user of
// the global dispatcher go through). It is wrapped by SoftprobeDispatcher:
// with no active session it forwards untouched; otherwise it asks the core
// and either answers through the handler callbacks or forwards (recording the
// exchange when capturing). Requests sent through an explicit dispatcher
// (an Agent/Pool/Client of their own) are not seen.
const { EventEmitter } = require('node:events');
const { Readable } = require('node:stream');
const context = require('../context');
const c = require('./common');

const SYMBOLS = [Symbol.for('undici.globalDispatcher.1'), Symbol.for('undici.globalDispatcher.2')];

let inner = null; // the dispatcher that was global before, or a lazily made Agent
let wrapper = null;
let previous = null; // what the symbols held at install (restored on uninstall)

function innerDispatcher() {
  if (inner === null) {
    // Nothing was global yet: make the Agent undici would have made.
    const { Agent } = require('undici');
    inner = new Agent();
  }
  return inner;
}

class SoftprobeDispatcher extends EventEmitter {
  dispatch(opts, handler) {
    const session = context.current();
    if (session === null) return innerDispatcher().dispatch(opts, handler);
    return answer(session, opts, handler);
  }
  close(...args) {
    return innerDispatcher().close(...args);
  }
  destroy(...args) {
    return innerDispatcher().destroy(...args);
  }
}

/** What bodyNow() returns for a body that can only be read asynchronously (a stream, a Blob). */
const LATER = Symbol('body read later');

/** The request body as bytes when it can be had at once (none, a string, bytes), else LATER. */
function bodyNow(body) {
  if (body == null) return undefined;
  if (typeof body === 'string' || Buffer.isBuffer(body)) return body;
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  return LATER;
}

/** Reads a body bodyNow() could not: an (async) iterable, a Readable, a Blob. */
async function readBody(body) {
  if (typeof body[Symbol.asyncIterator] === 'function' || body instanceof Readable) {
    const chunks = [];
    for await (const chunk of body) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
    return Buffer.concat(chunks);
  }
  if (typeof body.arrayBuffer === 'function') return Buffer.from(await body.arrayBuffer()); // Blob
  if (typeof body[Symbol.iterator] === 'function') {
    const chunks = [];
    for (const chunk of body) chunks.push(Buffer.from(chunk));
    return Buffer.concat(chunks);
  }
  return Buffer.from(String(body));
}

/**
 * Handles one dispatch in a session: returns true as Dispatcher.dispatch
 * does; a failure reaches the handler's error callback, never the caller.
 * A request whose body is at hand and whose answer has no latency is decided
 * and answered before this returns, as undici's MockAgent does: no promise,
 * no extra turn of the event loop (but see ANSWERS_PER_TURN;
 * docs/performance.md).
 */
function answer(session, opts, handler, target, decided) {
  try {
    const pending = intercept(session, opts, handler, target, decided);
    if (pending !== undefined) pending.catch((err) => fail(handler, err));
  } catch (err) {
    fail(handler, err);
  }
  return true;
}

/**
 * Decides one dispatch (unless `decided` already holds the core's outcome for
 * it) and forwards it to `target` (default: the dispatcher that was global)
 * or answers it through the handler. Returns a promise only when it has to
 * wait (a streamed request body, a mocked latency), else undefined.
 */
function intercept(session, opts, handler, target, decided) {
  const body = bodyNow(opts.body);
  if (body === LATER) return readBody(opts.body).then((b) => decideAndAnswer(session, opts, handler, target, decided, b));
  return decideAndAnswer(session, opts, handler, target, decided, body);
}

function decideAndAnswer(session, opts, handler, target, decided, body) {
  // The origin and the path as the dispatch sends them: the core makes the URL
  // and the header lines canonical.
  const origin = String(opts.origin);
  const url = (origin.endsWith('/') ? origin.slice(0, -1) : origin) + (opts.path || '/');
  const method = (opts.method || 'GET').toUpperCase();
  const headers = c.flattenHeaders(opts.headers);
  const dispatcher = target || innerDispatcher();
  const decision = decided !== undefined ? decided : session._decide(method, url, body, headers);
  if (typeof decision === 'number') {
    const record = session._shouldRecord(decision);
    const forwarded = body === opts.body ? opts : { ...opts, body };
    const h = record ? recordingHandler(session, handler, method, url, headers, body) : handler;
    context.runOutside(() => dispatcher.dispatch(forwarded, h));
    return undefined;
  }
  return respond(handler, decision, method, opts, dispatcher);
}

/**
 * A dispatcher for one forwarded fetch (passed as its `dispatcher`): the
 * first dispatch is the request the fetch interceptor already decided
 * (`outcome`); each redirect hop fetch follows after it is a new request the
 * core decides. Every forwarded hop is recorded when the session captures, so
 * a followed redirect is recorded as one exchange per hop, as on the wire.
 */
function fetchDispatcher(session, outcome, target) {
  let first = outcome;
  return {
    dispatch(opts, handler) {
      const decided = first;
      first = undefined;
      return answer(session, opts, handler, target, decided);
    },
    close(...args) {
      return target ? target.close(...args) : Promise.resolve();
    },
    destroy(...args) {
      return target ? target.destroy(...args) : Promise.resolve();
    },
  };
}

const DEFAULT_HEADERS_TIMEOUT = 300e3; // undici's default

/** undici's headersTimeout for this dispatch: the request's option, else the dispatcher's, else the default. */
function headersTimeout(opts, dispatcher) {
  if (opts.headersTimeout != null) return Number(opts.headersTimeout);
  const sym = dispatcher && Object.getOwnPropertySymbols(dispatcher).find((s) => s.description === 'options');
  const o = sym && dispatcher[sym];
  if (o && o.headersTimeout != null) return Number(o.headersTimeout);
  return DEFAULT_HEADERS_TIMEOUT;
}

function headersTimeoutError() {
  const { errors } = require('undici');
  return new errors.HeadersTimeoutError();
}

/**
 * Delivers a decided response through either handler API. The mocked latency
 * runs after the "connection" is handed to the handler, so an abort during it
 * ends the request at once, and undici's headersTimeout (0 = none) fires on
 * it as it does on a slow server. bodyTimeout cannot fire: a decided body
 * arrives whole, with the headers. With no latency the whole answer is
 * delivered before this returns (undefined), unless ANSWERS_PER_TURN answers
 * were already delivered so since the event loop last turned; otherwise,
 * and with a latency, it returns a promise.
 */
function respond(handler, decision, method, opts, dispatcher) {
  const status = decision[1];
  const flat = decision[2];
  const latency = decision[4];
  const body = method === 'HEAD' || c.isNullBodyStatus(status) ? null : decision[3];
  let aborted = false;
  let reason = null;
  let wake = null;
  const onAbort = (r) => {
    aborted = true;
    reason = r;
    if (wake) wake();
  };
  const modern = typeof handler.onRequestStart === 'function' && typeof handler.onConnect !== 'function';
  const controller = modern
    ? {
        aborted: false,
        paused: false,
        reason: null,
        abort(r) {
          this.aborted = true;
          this.reason = r;
          onAbort(r);
        },
        pause() {
          this.paused = true;
        },
        resume() {
          this.paused = false;
        },
      }
    : null;
  const failWith = (err) =>
    modern ? handler.onResponseError && handler.onResponseError(controller, err) : handler.onError && handler.onError(err);

  const deliver = () => {
    if (modern) {
      const obj = {};
      for (let i = 0; i < flat.length; i += 2) {
        const k = flat[i].toLowerCase();
        obj[k] = k in obj ? [].concat(obj[k], flat[i + 1]) : flat[i + 1];
      }
      handler.onResponseStart && handler.onResponseStart(controller, status, obj, c.statusText(status));
      if (body && body.length && !aborted) handler.onResponseData && handler.onResponseData(controller, body);
      if (!aborted) handler.onResponseEnd && handler.onResponseEnd(controller, {});
      return;
    }
    const raw = new Array(flat.length);
    for (let i = 0; i < flat.length; i++) raw[i] = Buffer.from(flat[i], 'latin1');
    if (handler.onHeaders) handler.onHeaders(status, raw, resumeNothing, c.statusText(status));
    if (aborted) return failWith(reason || new Error('aborted'));
    if (body && body.length && handler.onData) handler.onData(body);
    if (aborted) return failWith(reason || new Error('aborted'));
    if (handler.onComplete) handler.onComplete([]);
  };

  if (modern) handler.onRequestStart(controller, {});
  else if (handler.onConnect) handler.onConnect(onAbort, {});
  if (aborted) return failWith(reason || new Error('aborted'));
  if (!(latency > 0)) {
    if (answeredInARow === 0) nodeSetImmediate(loopTurned);
    if (++answeredInARow <= ANSWERS_PER_TURN) return deliver();
    return new Promise((resolve) => nodeSetImmediate(resolve)).then(() =>
      aborted ? failWith(reason || new Error('aborted')) : deliver()
    );
  }
  const limit = headersTimeout(opts, dispatcher);
  const timedOut = limit > 0 && limit < latency;
  return new Promise((resolve) => {
    const t = setTimeout(done, timedOut ? limit : latency);
    const signal = opts.signal;
    function done() {
      clearTimeout(t);
      wake = null;
      if (signal && typeof signal.removeEventListener === 'function') signal.removeEventListener('abort', onSignal);
      resolve();
    }
    function onSignal() {
      onAbort(signal.reason);
    }
    wake = done;
    if (signal && typeof signal.addEventListener === 'function') signal.addEventListener('abort', onSignal, { once: true });
  }).then(() => {
    if (aborted) return failWith(reason || new Error('aborted'));
    if (timedOut) return failWith(headersTimeoutError());
    return deliver();
  });
}

/**
 * How many mocked answers without latency are delivered inside dispatch()
 * before the event loop has turned once; the next one waits for it
 * (setImmediate). undici defers part of each response's cleanup to
 * setImmediate (BodyReadable._destroy when the body was read with
 * .json()/.text()), so a loop of sequential requests that never leaves the
 * microtask queue would keep every request's handler, body stream and
 * answer alive until it ends (about 2.5 KB per request, MockAgent 2.1 KB;
 * docs/performance.md). Letting the loop turn every 64 answers bounds that
 * to 64 requests' worth, and costs one setImmediate per 64 requests.
 */
const ANSWERS_PER_TURN = 64;
// Node's own, taken at load: fake timers that replace globalThis.setImmediate
// (jest, sinon) must not stall mocked answers they never advance.
const { setImmediate: nodeSetImmediate } = require('node:timers');
let answeredInARow = 0; // sync answers since the event loop last turned
function loopTurned() {
  answeredInARow = 0;
}

function resumeNothing() {}

function fail(handler, err) {
  if (typeof handler.onError === 'function') handler.onError(err);
  else if (typeof handler.onResponseError === 'function') handler.onResponseError({ aborted: true, reason: err }, err);
}

/** Wraps a legacy handler to record the exchange as it passes through. */
function recordingHandler(session, handler, method, url, reqHeaders, reqBody) {
  const start = c.nowMs();
  let status = 0;
  let headers = [];
  const chunks = [];
  let recorded = false;
  const done = (withResponse) => {
    if (recorded) return;
    recorded = true;
    session._recordExchange(method, url, reqHeaders, reqBody, withResponse ? status : 0, headers, Buffer.concat(chunks), start, c.nowMs());
  };
  return new Proxy(handler, {
    get(target, prop) {
      if (prop === 'onHeaders') {
        return (statusCode, rawHeaders, resume, statusText) => {
          status = statusCode;
          headers = rawHeaders.map((b) => (Buffer.isBuffer(b) ? b.toString('latin1') : String(b)));
          return target.onHeaders(statusCode, rawHeaders, resume, statusText);
        };
      }
      if (prop === 'onData') {
        return (chunk) => {
          chunks.push(Buffer.from(chunk));
          return target.onData(chunk);
        };
      }
      if (prop === 'onComplete') {
        return (trailers) => {
          done(true);
          return target.onComplete(trailers);
        };
      }
      if (prop === 'onError') {
        return (err) => {
          done(status !== 0);
          return target.onError(err);
        };
      }
      const v = target[prop];
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

function install() {
  if (wrapper !== null) return;
  previous = globalThis[SYMBOLS[0]];
  inner = previous !== undefined ? previous : null;
  wrapper = new SoftprobeDispatcher();
  for (const s of SYMBOLS) {
    const d = Object.getOwnPropertyDescriptor(globalThis, s);
    if (d === undefined) {
      Object.defineProperty(globalThis, s, { value: wrapper, writable: true, enumerable: false, configurable: true });
    } else if (d.writable) {
      globalThis[s] = wrapper;
    }
  }
}

function uninstall() {
  if (wrapper === null) return;
  // With nothing global before, leave a plain Agent (undici's and Node's
  // fetch expect one once a global dispatcher has been seen).
  const restore = previous !== undefined ? previous : innerDispatcher();
  for (const s of SYMBOLS) if (globalThis[s] === wrapper) globalThis[s] = restore;
  wrapper = null;
}

/** Re-wraps the global dispatcher if the application replaced it (setGlobalDispatcher). */
function reinstall() {
  if (wrapper !== null && globalThis[SYMBOLS[0]] !== wrapper) {
    previous = globalThis[SYMBOLS[0]];
    inner = previous;
    for (const s of SYMBOLS) if (Object.getOwnPropertyDescriptor(globalThis, s)?.writable) globalThis[s] = wrapper;
    return;
  }
  install();
}

module.exports = { install, uninstall, reinstall, SoftprobeDispatcher, fetchDispatcher, dispatcher: () => wrapper };
