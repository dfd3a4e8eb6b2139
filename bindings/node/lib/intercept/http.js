'use strict';
// http.request/get and https.request/get. While a session is active a call
// returns an InterceptedRequest: a ClientRequest look-alike (an
// OutgoingMessage, so setHeader/getHeader/... behave as usual) that buffers
// the body until end(), then asks the core. A mock, error or strict-miss
// decision is answered with a real http.IncomingMessage fed in process; a
// passthrough or capture replays the same call on the original
// http(s).request and hands the application the real response (captures tap
// it without changing how it streams).
const http = require('node:http');
const https = require('node:https');
const { EventEmitter } = require('node:events');
const { syncBuiltinESMExports } = require('node:module');
const context = require('../context');
const c = require('./common');
const { copyArg, requestOptions } = require('./request-options');

const originals = {
  httpRequest: http.request,
  httpGet: http.get,
  httpsRequest: https.request,
  httpsGet: https.get,
};
let installed = false;

// IncomingMessage computes `headers` lazily from rawHeaders and a private
// header count; find that symbol once so mocked responses get Node's own
// header semantics (duplicates, set-cookie arrays, ...).
const kHeadersCount = Object.getOwnPropertySymbols(new http.IncomingMessage(null)).find(
  (s) => s.description === 'kHeadersCount'
);

/** A socket stand-in for mocked exchanges: nothing is connected. */
class MockSocket extends EventEmitter {
  constructor(secure) {
    super();
    this.connecting = false;
    this.readable = true;
    this.writable = true;
    this.destroyed = false;
    this.encrypted = secure || undefined;
    this.authorized = secure ? true : undefined;
    this.remoteAddress = '127.0.0.1';
    this.remotePort = secure ? 443 : 80;
    this.remoteFamily = 'IPv4';
    this.localAddress = '127.0.0.1';
    this.localPort = 0;
    this.bytesRead = 0;
    this.bytesWritten = 0;
    this.timeout = 0;
  }
  address() {
    return { address: '127.0.0.1', family: 'IPv4', port: 0 };
  }
  setTimeout(ms, cb) {
    this.timeout = ms;
    if (cb) this.once('timeout', cb);
    return this;
  }
  setNoDelay() {
    return this;
  }
  setKeepAlive() {
    return this;
  }
  ref() {
    return this;
  }
  unref() {
    return this;
  }
  cork() {}
  uncork() {}
  pause() {
    return this;
  }
  resume() {
    return this;
  }
  write() {
    return true;
  }
  end() {
    return this;
  }
  getPeerCertificate() {
    return {};
  }
  destroy(err) {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.readable = this.writable = false;
    process.nextTick(() => {
      if (err) this.emit('error', err);
      this.emit('close', !!err);
    });
    return this;
  }
}

/**
 * Normalizes (url | options, [options], [callback]) as http.request does
 * (opts: see requestOptions), after throwing what Node would throw for them
 * (before any field is read: a hostname that is not a string is Node's
 * ERR_INVALID_ARG_TYPE, not our TypeError).
 */
function parseArgs(args, defaultProtocol, defaultAgent) {
  let input = args[0];
  let options = args[1];
  let cb = args[2];
  let url = null;
  if (typeof input === 'string') {
    url = new URL(input);
  } else if (input instanceof URL) {
    url = input;
  } else {
    cb = options;
    options = input;
    input = null;
  }
  if (typeof options === 'function') {
    cb = options;
    options = undefined;
  }
  const opts = requestOptions(url, options);
  validateLikeNode(opts, defaultAgent);
  const agent = opts.agent;
  const protocol = opts.protocol || (agent && agent.protocol) || defaultProtocol;
  const secure = protocol === 'https:';
  const defaultPort = (agent && agent.defaultPort) || (secure ? 443 : 80);
  let hostname = opts.hostname || opts.host || 'localhost';
  if (hostname.startsWith('[') && hostname.endsWith(']')) hostname = hostname.slice(1, -1);
  const port = Number(opts.port) || defaultPort;
  return { opts, cb: typeof cb === 'function' ? cb : undefined, protocol, secure, hostname, port, defaultPort };
}

/** The argument list for the original request function, without the callback. */
function forwardArgs(args) {
  const out = [];
  for (const a of args) if (typeof a !== 'function') out.push(a);
  return out;
}

const kState = Symbol('softprobe.request');

class InterceptedRequest extends http.OutgoingMessage {
  constructor(session, original, args, parsed) {
    super();
    const { opts } = parsed;
    this.method = (opts.method || 'GET').toUpperCase();
    this.path = opts.path || '/';
    this.host = parsed.hostname;
    this.protocol = parsed.protocol;
    this.agent = opts.agent;
    this.aborted = false;
    this.reusedSocket = false;
    this.maxHeadersCount = null;
    this.timeoutCb = null;
    this.upgradeOrConnect = false;
    this.res = null;
    this[kState] = {
      session,
      original,
      args,
      parsed,
      chunks: [],
      real: null,
      started: false,
      responded: false,
      timeoutMs: opts.timeout || 0,
      timer: null,
      decided: false,
      closed: false,
    };
    const headers = opts.headers;
    if (headers) {
      if (Array.isArray(headers)) for (let i = 0; i + 1 < headers.length; i += 2) this.setHeader(headers[i], headers[i + 1]);
      else for (const k of Object.keys(headers)) if (headers[k] !== undefined) this.setHeader(k, headers[k]);
    }
    if (opts.auth && !this.hasHeader('authorization')) {
      this.setHeader('Authorization', 'Basic ' + Buffer.from(opts.auth).toString('base64'));
    }
    if (parsed.cb) this.once('response', parsed.cb);
    if (opts.signal) {
      const signal = opts.signal;
      if (signal.aborted) process.nextTick(() => this.destroy(abortError(signal)));
      else signal.addEventListener('abort', () => this.destroy(abortError(signal)), { once: true });
    }
    this.socket = this.connection = new MockSocket(parsed.secure);
    process.nextTick(() => {
      if (!this.destroyed) this.emit('socket', this.socket);
    });
  }

  write(chunk, encoding, cb) {
    if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    const st = this[kState];
    if (this.finished) {
      const err = Object.assign(new Error('write after end'), { code: 'ERR_STREAM_WRITE_AFTER_END' });
      process.nextTick(() => {
        if (cb) cb(err);
        this.emit('error', err);
      });
      return false;
    }
    if (chunk != null && chunk.length !== 0) st.chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, encoding) : Buffer.from(chunk));
    if (cb) process.nextTick(cb);
    return true;
  }

  end(chunk, encoding, cb) {
    if (typeof chunk === 'function') {
      cb = chunk;
      chunk = undefined;
    } else if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    if (this.finished) return this;
    if (chunk != null) this.write(chunk, encoding);
    this.finished = true;
    if (cb) this.once('finish', cb);
    process.nextTick(() => this._softprobeStart());
    return this;
  }

  flushHeaders() {}
  setNoDelay() {}
  setSocketKeepAlive() {}

  setTimeout(ms, cb) {
    const st = this[kState];
    if (cb) this.once('timeout', cb);
    st.timeoutMs = ms;
    if (st.real) st.real.setTimeout(ms);
    else if (st.decided && !st.responded) this._softprobeArmTimeout();
    return this;
  }

  /**
   * While a mocked response waits out its latency, the request's timeout
   * (the `timeout` option or setTimeout) emits 'timeout' when it elapses, as
   * an idle socket does; the application decides whether to destroy.
   */
  _softprobeArmTimeout() {
    const st = this[kState];
    if (st.timer) clearTimeout(st.timer);
    st.timer = null;
    if (!(st.timeoutMs > 0)) return;
    st.timer = setTimeout(() => {
      st.timer = null;
      if (!this.destroyed && !st.responded) this.emit('timeout');
    }, st.timeoutMs);
  }

  abort() {
    if (this.aborted) return;
    this.aborted = true;
    process.nextTick(() => this.emit('abort'));
    this.destroy();
  }

  destroy(err) {
    if (this.destroyed) return this;
    this.destroyed = true;
    const st = this[kState];
    if (st.timer) clearTimeout(st.timer);
    if (st.real) {
      st.real.destroy(err);
      return this;
    }
    if (this.res) {
      this.res.destroy(err);
    } else if (!this.aborted || err) {
      const e = err || Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
      process.nextTick(() => this.emit('error', e));
    }
    this._softprobeClose();
    return this;
  }

  _softprobeClose() {
    const st = this[kState];
    if (st.closed) return;
    st.closed = true;
    process.nextTick(() => this.emit('close'));
  }

  _softprobeStart() {
    const st = this[kState];
    if (st.started || this.destroyed) return;
    st.started = true;
    this.emit('prefinish');
    this.emit('finish');
    const p = st.parsed;
    const body = st.chunks.length === 0 ? undefined : st.chunks.length === 1 ? st.chunks[0] : Buffer.concat(st.chunks);
    st.body = body;
    // The URL as this request will send it (the core makes it canonical): the
    // path exactly as given, the port always written (the core elides a default).
    st.url = `${p.protocol}//${p.hostname.includes(':') ? `[${p.hostname}]` : p.hostname}:${p.port}${this.path}`;
    st.headers = this._softprobeHeaders();
    let decision;
    try {
      decision = st.session._decide(this.method, st.url, body, st.headers);
    } catch (err) {
      this.destroy(err);
      return;
    }
    if (typeof decision === 'number') return this._softprobeForward(decision);
    const latency = decision[4];
    st.decided = true;
    if (latency > 0) this._softprobeArmTimeout();
    if (latency > 0) {
      setTimeout(() => this._softprobeRespond(decision), latency);
    } else {
      this._softprobeRespond(decision);
    }
  }

  /** The header lines as the application set them, one entry per value (the core lowercases and adds Host). */
  _softprobeHeaders() {
    const flat = [];
    const raw = this.getRawHeaderNames();
    for (const n of raw) {
      const v = this.getHeader(n);
      if (Array.isArray(v)) for (const x of v) flat.push(n, String(x));
      else flat.push(n, String(v));
    }
    return flat;
  }

  _softprobeRespond(decision) {
    const st = this[kState];
    if (this.destroyed || st.responded) return;
    st.responded = true;
    if (st.timer) {
      clearTimeout(st.timer);
      st.timer = null;
    }
    const status = decision[1];
    const flat = decision[2];
    const body = decision[3];
    const res = new http.IncomingMessage(this.socket);
    res.httpVersionMajor = 1;
    res.httpVersionMinor = 1;
    res.httpVersion = '1.1';
    res.statusCode = status;
    res.statusMessage = c.statusText(status);
    res.rawHeaders = flat;
    if (kHeadersCount !== undefined) res[kHeadersCount] = flat.length;
    else res.headers = headersObject(flat);
    res.req = this;
    res.complete = true;
    this.res = res;
    if (this.method !== 'HEAD' && !c.isNullBodyStatus(status) && body.length !== 0) res.push(body);
    res.push(null);
    res.once('end', () => this._softprobeClose());
    if (!this.emit('response', res)) res._dump();
  }

  _softprobeForward(outcome) {
    const st = this[kState];
    const record = st.session._shouldRecord(outcome);
    let real;
    try {
      real = st.original.apply(undefined, forwardArgs(st.args));
    } catch (err) {
      // Validated at the call already; anything left is reported as Node reports a failed request.
      this.destroy(err);
      return;
    }
    st.real = real;
    // Mirror the headers as the application left them (Host is set by the real request).
    for (const n of real.getHeaderNames()) if (n !== 'host' && !this.hasHeader(n)) real.removeHeader(n);
    for (const n of this.getHeaderNames()) real.setHeader(n, this.getHeader(n));
    if (st.timeoutMs > 0) real.setTimeout(st.timeoutMs);
    const start = c.nowMs();
    let recorded = false;
    const recordOnce = (status, headers, body) => {
      if (recorded || !record) return;
      recorded = true;
      st.session._recordExchange(this.method, st.url, st.headers, st.body, status, headers, body, start, c.nowMs());
    };
    real.on('response', (res) => {
      this.res = res;
      if (record) tapResponse(res, recordOnce);
      if (!this.emit('response', res)) res.resume();
    });
    real.on('error', (err) => {
      recordOnce(0);
      this.emit('error', err);
    });
    real.on('close', () => {
      st.closed = true;
      this.emit('close');
    });
    for (const ev of ['timeout', 'information', 'upgrade', 'connect', 'continue']) {
      real.on(ev, (...a) => this.emit(ev, ...a));
    }
    for (const chunk of st.chunks) real.write(chunk);
    real.end();
  }
}
Object.setPrototypeOf(InterceptedRequest.prototype, http.ClientRequest.prototype);

/** Records a real response as it streams to the application (wraps push on the instance). */
function tapResponse(res, recordOnce) {
  const chunks = [];
  const push = res.push;
  res.push = function softprobeTap(chunk, encoding) {
    if (chunk === null) recordOnce(res.statusCode, res.rawHeaders, Buffer.concat(chunks));
    else if (chunk !== undefined) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk);
    return push.call(this, chunk, encoding);
  };
  res.once('close', () => recordOnce(res.statusCode, res.rawHeaders, Buffer.concat(chunks)));
}

function headersObject(flat) {
  const out = {};
  for (let i = 0; i < flat.length; i += 2) {
    const k = flat[i].toLowerCase();
    const v = flat[i + 1];
    if (k === 'set-cookie') (out[k] || (out[k] = [])).push(v);
    else out[k] = k in out ? `${out[k]}, ${v}` : v;
  }
  return out;
}

function abortError(signal) {
  const e = new Error('The operation was aborted', { cause: signal.reason });
  e.name = 'AbortError';
  e.code = 'ABORT_ERR';
  return e;
}

/** An agent that takes nothing: lets Node's ClientRequest validate a call without connecting. */
function probeAgent(protocol, defaultPort) {
  return { protocol, defaultPort, keepAlive: false, maxSockets: Infinity, addRequest() {} };
}

/**
 * Throws, at the call, exactly what Node's own http(s).request would throw for
 * these arguments (ERR_INVALID_PROTOCOL for a URL of the other protocol,
 * ERR_UNESCAPED_CHARACTERS for a path with a space, invalid methods, headers,
 * hosts, timeouts...): Node's ClientRequest is constructed on an agent that
 * never connects, and dropped.
 */
function validateLikeNode(opts, defaultAgent) {
  const agent = opts.agent;
  const protocol = (agent && agent.protocol) || defaultAgent.protocol;
  // An agent without addRequest is left in, for Node to reject it as it would.
  const usable = agent == null || agent === false || typeof agent.addRequest === 'function';
  const probe = {
    ...opts,
    agent: usable ? probeAgent(protocol, (agent && agent.defaultPort) || defaultAgent.defaultPort) : agent,
    _defaultAgent: defaultAgent,
    signal: undefined,
  };
  new http.ClientRequest(probe); // eslint-disable-line no-new
}

function makeRequest(original, defaultProtocol, module) {
  return function request(...args) {
    const session = context.current();
    if (session === null) return original.apply(this, args);
    // The options as they are now: a forwarded request is made on a later
    // tick, after callers such as got have put their own options back.
    const snapshot = args.map((a) => (a !== null && typeof a === 'object' && !(a instanceof URL) ? copyArg(a) : a));
    const parsed = parseArgs(snapshot, defaultProtocol, module.globalAgent);
    return new InterceptedRequest(session, original, snapshot, parsed);
  };
}

function makeGet(request) {
  return function get(...args) {
    const req = request(...args);
    req.end();
    return req;
  };
}

const patched = {};
patched.httpRequest = makeRequest(originals.httpRequest, 'http:', http);
patched.httpGet = makeGet(patched.httpRequest);
patched.httpsRequest = makeRequest(originals.httpsRequest, 'https:', https);
patched.httpsGet = makeGet(patched.httpsRequest);

function install() {
  if (installed) return;
  installed = true;
  http.request = patched.httpRequest;
  http.get = patched.httpGet;
  https.request = patched.httpsRequest;
  https.get = patched.httpsGet;
  syncBuiltinESMExports();
}

function uninstall() {
  if (!installed) return;
  installed = false;
  if (http.request === patched.httpRequest) http.request = originals.httpRequest;
  if (http.get === patched.httpGet) http.get = originals.httpGet;
  if (https.request === patched.httpsRequest) https.request = originals.httpsRequest;
  if (https.get === patched.httpsGet) https.get = originals.httpsGet;
  syncBuiltinESMExports();
}

module.exports = { install, uninstall, originals, InterceptedRequest };
