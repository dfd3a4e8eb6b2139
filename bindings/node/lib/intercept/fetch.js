'use strict';
// Global fetch: replaced by a function that asks the core about each request
// made while a session is active. A mock, error or strict-miss decision is
// answered with a Response built in process (no dispatcher, no socket: the
// cheapest path, see docs/performance.md (Node section)); passthrough and capture call
// the original fetch outside the session's context, so the global-dispatcher
// interceptor lets them through untouched.
const context = require('../context');
const c = require('./common');
const { fetchDispatcher } = require('./undici');

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const NORMALIZED = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH']);

let originalFetch = null;

function softprobeFetch(input, init) {
  const session = context.current();
  if (session === null) return originalFetch(input, init);
  return interceptedFetch(session, input, init);
}

function normalizeMethod(m) {
  const u = String(m).toUpperCase();
  return NORMALIZED.has(u) ? u : String(m);
}

/**
 * Reads what the core needs from fetch's arguments without building a
 * Request (string/URL input with a string or byte body: the common case);
 * returns undefined when a Request is needed (describeRequest), null for a bad URL.
 */
function describeFast(input, init) {
  const body = init === undefined ? undefined : init.body;
  if (
    (typeof input === 'string' || input instanceof URL) &&
    (body == null || typeof body === 'string' || ArrayBuffer.isView(body))
  ) {
    let url;
    try {
      url = new URL(input);
    } catch {
      return null; // let fetch itself report the bad URL
    }
    return {
      url,
      method: init !== undefined && init.method ? normalizeMethod(init.method) : 'GET',
      headers: init !== undefined && init.headers ? c.flattenHeaders(init.headers) : undefined,
      body: body == null ? undefined : body,
      signal: init !== undefined ? init.signal : undefined,
      redirect: init !== undefined && init.redirect ? init.redirect : 'follow',
      request: null,
    };
  }
  return undefined;
}

async function describeRequest(input, init) {
  const request = new Request(input, init);
  return {
    url: new URL(request.url),
    method: request.method,
    headers: c.flattenHeaders(request.headers),
    body: request.body ? Buffer.from(await request.clone().arrayBuffer()) : undefined,
    signal: request.signal,
    redirect: request.redirect,
    request,
  };
}

async function interceptedFetch(session, input, init) {
  let d = describeFast(input, init);
  if (d === undefined) d = await describeRequest(input, init);
  if (d === null) return originalFetch(input, init);
  for (let hops = 0; ; hops++) {
    if (d.signal && d.signal.aborted) throw d.signal.reason;
    const url = d.url;
    const decision = session._decide(d.method, url.href, d.body, d.headers);
    if (typeof decision === 'number') return forward(session, decision, d, input, init);
    if (decision[4] > 0) await c.delay(decision[4], d.signal);
    const status = decision[1];
    // Follow a mocked redirect as a network fetch would (new decision per hop).
    if (REDIRECTS.has(status) && d.redirect !== 'manual' && hops < 20) {
      const location = headerValue(decision[2], 'location');
      if (location !== undefined) {
        if (d.redirect === 'error') throw new TypeError('fetch failed', { cause: new Error('unexpected redirect') });
        const toGet = status === 303 || ((status === 301 || status === 302) && d.method === 'POST');
        d = {
          ...d,
          url: new URL(location, url),
          method: toGet ? 'GET' : d.method,
          body: toGet ? undefined : d.body,
          request: null,
          redirected: true,
        };
        continue;
      }
    }
    return buildResponse(decision, d.method, url.href, hops > 0);
  }
}

function headerValue(flat, name) {
  for (let i = 0; i < flat.length; i += 2) if (flat[i].toLowerCase() === name) return flat[i + 1];
  return undefined;
}

const decoder = new TextDecoder();
const HAS_BYTES = typeof Response.prototype.bytes === 'function';

/**
 * A real Response (instanceof Response, same headers/status/url) whose body
 * is held as bytes: text()/json()/arrayBuffer()/blob() read them directly,
 * and a web ReadableStream is only made if the application asks for `body`
 * (or formData()/clone() after that). Building a stream per response is most
 * of the cost of a mocked fetch in Node 20 (see docs/performance.md (Node section)).
 */
class MockedResponse extends Response {
  #bytes;
  #init;
  #used = false;
  #real = null;

  constructor(bytes, init) {
    super(null, init);
    this.#bytes = bytes;
    this.#init = init;
  }

  /** The equivalent stream-backed Response, made on first need. */
  #realize() {
    if (this.#real === null) {
      this.#real = new Response(this.#bytes, this.#init);
      if (this.#used) this.#real.body.getReader(); // keep it disturbed, as ours is
    }
    return this.#real;
  }

  #take() {
    if (this.#used) throw new TypeError('Body is unusable: Body has already been read');
    this.#used = true;
    return this.#bytes;
  }

  get body() {
    return this.#realize().body;
  }
  get bodyUsed() {
    return this.#real !== null ? this.#real.bodyUsed : this.#used;
  }
  async text() {
    if (this.#real !== null) return this.#real.text();
    return decoder.decode(this.#take());
  }
  async json() {
    if (this.#real !== null) return this.#real.json();
    return JSON.parse(decoder.decode(this.#take()));
  }
  async arrayBuffer() {
    if (this.#real !== null) return this.#real.arrayBuffer();
    const b = this.#take();
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  }
  async blob() {
    if (this.#real !== null) return this.#real.blob();
    return new Blob([this.#take()], { type: this.headers.get('content-type') || '' });
  }
  async formData() {
    return this.#realize().formData();
  }
  clone() {
    if (this.bodyUsed) throw new TypeError('Response.clone: Body has already been consumed.');
    const copy = this.#real !== null ? this.#real.clone() : new MockedResponse(this.#bytes, this.#init);
    Object.defineProperty(copy, 'url', { value: this.url });
    if (this.redirected) Object.defineProperty(copy, 'redirected', { value: true });
    return copy;
  }
}
if (HAS_BYTES) {
  MockedResponse.prototype.bytes = async function bytes() {
    if (this.bodyUsed) throw new TypeError('Body is unusable: Body has already been read');
    return new Uint8Array(await this.arrayBuffer());
  };
}

function buildResponse(decision, method, href, redirected) {
  const status = decision[1];
  const flat = decision[2];
  let body = decision[3];
  // A compressed recorded body is decoded as a network fetch decodes it; the
  // headers stay as recorded (fetch shows content-encoding and content-length).
  const decoded = c.decodeForFetch(flat, body);
  if (decoded !== null) body = decoded;
  const headers = [];
  for (let i = 0; i < flat.length; i += 2) headers.push([flat[i], flat[i + 1]]);
  const init = { status, statusText: c.statusText(status), headers };
  const res =
    c.isNullBodyStatus(status) || method === 'HEAD' || body.length === 0 ? new Response(null, init) : new MockedResponse(body, init);
  Object.defineProperty(res, 'url', { value: href });
  if (redirected) Object.defineProperty(res, 'redirected', { value: true });
  return res;
}

/**
 * Passthrough or capture: the real request, outside the session's context,
 * through a dispatcher of its own (wrapping the application's `dispatcher`,
 * else the global one) that sees every hop: the first is this decision, each
 * redirect fetch follows is decided by the core, and each forwarded hop is
 * recorded as it came off the wire (status, headers with content-length and
 * content-encoding, undecoded body), so the case holds `302 -> /target -> 200`
 * as two exchanges.
 */
async function forward(session, outcome, d, input, init) {
  const record = session._shouldRecord(outcome);
  const dispatcher = fetchDispatcher(session, outcome, init && init.dispatcher ? init.dispatcher : undefined);
  let args;
  if (d.redirected) args = [d.url.href, { ...(init || {}), method: d.method, body: d.body, dispatcher }]; // after a mocked redirect
  else if (d.request !== null) args = [d.request, { dispatcher }];
  else args = [input, { ...(init || {}), dispatcher }];
  const res = await context.runOutside(() => originalFetch(args[0], args[1]));
  // Read a copy to the end so the exchange is recorded even when the
  // application never reads the body (the application's copy streams as before).
  if (record && res.body !== null) session._track(res.clone().arrayBuffer().catch(() => {}));
  return res;
}

function install() {
  if (originalFetch !== null || typeof globalThis.fetch !== 'function') return;
  originalFetch = globalThis.fetch;
  globalThis.fetch = softprobeFetch;
}

function uninstall() {
  if (originalFetch === null) return;
  if (globalThis.fetch === softprobeFetch) globalThis.fetch = originalFetch;
  originalFetch = null;
}

module.exports = { install, uninstall, softprobeFetch, original: () => originalFetch };
