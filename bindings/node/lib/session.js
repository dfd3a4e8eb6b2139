'use strict';
// SoftprobeSession: one test-scoped session. Embedded, it is a session of the
// in-process core; remote, a session of the core's remote store: the core
// sends every control call to the runtime and keeps a local mirror with the
// same id that decides this process's own requests in process. The calls
// below are the same in both modes (the remote ones run on the libuv pool
// and never block the event loop); only decisions and records are
// synchronous, and they never touch the network.
const native = require('./native');
const context = require('./context');
const { ruleFromSpec } = require('./rules');
const { fromNative, SoftprobeError, StrictMissError, CaseLoadError } = require('./errors');

function json(text) {
  return JSON.parse(text);
}

/** Calls a native function, translating core failures into the package's errors. */
function call(ctx, fn, ...args) {
  try {
    return fn(...args);
  } catch (err) {
    throw fromNative(err, ctx);
  }
}

async function callAsync(ctx, fn, ...args) {
  try {
    return await fn(...args);
  } catch (err) {
    throw fromNative(err, ctx);
  }
}

class SoftprobeSession {
  /** @internal */
  constructor(owner, handle, { service = '' } = {}) {
    this._owner = owner;
    this._handle = handle;
    this._service = service || '';
    this._id = native.sessionId(handle);
    this._mode = native.sessionMode(handle);
    this._capturing = this._mode !== 'replay';
    this._pending = new Set();
    this._closed = false;
    this._queue = Promise.resolve();
  }

  /** The session id (the runtime's id in remote mode). */
  get id() {
    return this._id;
  }
  /** 'replay' | 'capture' | 'generate' */
  get mode() {
    return this._mode;
  }
  /** The local core's revision counter (+1 per successful mutation; remote: the mirror's). */
  get revision() {
    return native.sessionRevision(this._handle);
  }
  get closed() {
    return this._closed;
  }

  /** Loads a case file (OTLP JSON profile). Rejects with CaseLoadError naming the path. */
  async loadCaseFromFile(path) {
    await callAsync({ loading: true, path }, native.sessionLoadCaseFile, this._handle, String(path));
  }

  /** Loads a case document (object or JSON text). */
  async loadCase(doc) {
    const text = typeof doc === 'string' ? doc : JSON.stringify(doc);
    if (text === undefined) throw new CaseLoadError('cannot load case: loadCase(doc) needs a case object or JSON text', {});
    await callAsync({ loading: true }, native.sessionLoadCase, this._handle, text);
  }

  /**
   * Exactly one recorded exchange of the loaded case matching the predicate
   * ({direction, method, host, hostSuffix, path, pathPrefix, service}):
   * { response: {status, headers, body | bodyBase64}, span }. Throws
   * CaseLookupError (with `matches`) when zero or several spans match.
   */
  findInCase(predicate = {}) {
    return json(call({ predicate }, native.sessionFindInCase, this._handle, JSON.stringify(predicate)));
  }

  /** Every matching exchange, in file order (possibly none). */
  findAllInCase(predicate = {}) {
    return json(call({ predicate }, native.sessionFindAllInCase, this._handle, JSON.stringify(predicate))).matches;
  }

  /**
   * Appends a rule after the session rules (sp_session_add_rules: the
   * current rules are not sent or reparsed again; in remote mode the core
   * sends the runtime the whole list). spec: predicates (method, host, path,
   * pathPrefix, hostSuffix, headers, bodyJsonPath, ...) plus `response`
   * ({status, headers, body}), `error` ({status, body}) or `action`
   * ('passthrough' | 'capture_only'), and optional name, priority, consume
   * ('once' | 'many'), latencyMs. Rejects with InvalidRuleError (its
   * ruleIndex is 0: the rule given).
   */
  async mockOutbound(spec) {
    const rule = ruleFromSpec(spec);
    await this._serial(() =>
      callAsync({ sessionId: this._id }, native.sessionAddRules, this._handle, JSON.stringify(rule))
    );
    return rule;
  }

  /** Removes every session rule. */
  async clearRules() {
    await this._serial(() => this._setRules([]));
  }

  /** Replaces the policy ({externalHttp, externalAllowlist, defaultOnMiss, ...}). */
  async setPolicy(policy) {
    await this._serial(() => callAsync({ sessionId: this._id }, native.sessionSetPolicy, this._handle, JSON.stringify(policy)));
  }

  /** Replaces the auth fixtures ({tokens: [], cookies: [], metadata: {}}). */
  async setAuthFixtures(fixtures) {
    await this._serial(() =>
      callAsync({ sessionId: this._id }, native.sessionSetAuthFixtures, this._handle, JSON.stringify(fixtures))
    );
  }

  /**
   * {sessionId, sessionRevision, mode, stats: {injectedSpans (mock and error
   * answers), extractedSpans, strictMisses, decisions, passthroughs,
   * lastStrictMiss?, ruleHits}}. In remote mode the core adds
   * the runtime's counters (proxy traffic) and the local mirror's (this
   * process's traffic) and keeps both under `sources`.
   */
  async getStats() {
    return json(await callAsync({ sessionId: this._id }, native.sessionStats, this._handle));
  }

  /**
   * The session rules document {version: 1, rules: [...]}: the local
   * session's (remote: the mirror's, which holds what the runtime took).
   */
  async dumpRules() {
    return json(call({}, native.sessionGetRules, this._handle));
  }

  /** The most recent strict misses (up to 32), oldest first, each with the core's near-miss explanation. */
  strictMisses() {
    return json(call({}, native.sessionStrictMisses, this._handle)).strictMisses;
  }

  /** Throws StrictMissError listing every strict miss so far (with explanations). */
  assertNoStrictMisses() {
    const misses = this.strictMisses();
    if (misses.length === 0) return;
    const lines = misses.map((m) => `  ${m.method} ${m.host}${m.path}: ${m.explanation}`).join('\n');
    throw new StrictMissError(
      `${misses.length} request(s) were blocked by the strict policy in session ${this._id}; mock them with ` +
        `mockOutbound(...) or allow their hosts in the policy:\n${lines}`,
      { misses }
    );
  }

  /** Runs fn(...args) with this session active for everything it starts (AsyncLocalStorage). */
  run(fn, ...args) {
    return context.run(this, fn, args);
  }

  /** Makes this the process-wide session, used wherever no run() context applies. */
  activate() {
    context.setProcessWide(this);
    return this;
  }

  /** Stops being the process-wide session. */
  deactivate() {
    if (context.getProcessWide() === this) context.setProcessWide(null);
    return this;
  }

  /**
   * Waits for captures still being read, closes the session, and in capture
   * or generate mode writes the case file (to `out`, else
   * $SOFTPROBE_CAPTURE_CASE_PATH or ./captured.case.json). Remote: the core
   * closes the mirror, sends what this process captured to the runtime
   * (POST /v1/traces), then closes the runtime's session, which writes one
   * case with it and what its proxies reported (`out` is a path on the
   * runtime's machine). Resolves with {sessionId, closed: true, capturePath?}.
   * If it rejects, the session is not marked closed: close() again retries
   * (remote: what was not sent yet is sent then; nothing captured is lost).
   */
  async close({ out } = {}) {
    if (this._closed) return { sessionId: this._id, closed: true };
    while (this._pending.size > 0) await Promise.allSettled([...this._pending]);
    const result = { sessionId: this._id, closed: true };
    const capturePath = await this._serial(() =>
      callAsync({ sessionId: this._id }, native.sessionClose, this._handle, out ? String(out) : '')
    );
    this._closed = true;
    this.deactivate();
    if (capturePath) result.capturePath = capturePath;
    return result;
  }

  // ---- used by the interceptors ----

  /**
   * @internal Decides one outbound request in the core. `url` is the absolute
   * URL string as the client had it and `headers` the flat [name, value, ...]
   * lines as sent: the core makes them canonical (docs/requests.md).
   */
  _decide(method, url, body, headers) {
    let d;
    try {
      d = native.sessionDecide(this._handle, 'outbound', method, url, this._service, body, headers);
    } catch (err) {
      if (err && err.code === 'SP_E_SESSION_CLOSED') {
        throw new SoftprobeError(
          `softprobe session ${this._id} is closed, so ${method} ${url} cannot be answered; ` +
            'close the session only after the code inside run() has finished',
          { code: 'SESSION_CLOSED' }
        );
      }
      throw fromNative(err);
    }
    if (typeof d !== 'number' && d[5]) this._onStrictMiss(d[7]);
    return d;
  }

  /**
   * @internal Whether a forwarded exchange (passthrough or capture_only) is
   * recorded: in capture and generate sessions. A replay session keeps no
   * exchanges (the core drops them: it writes no case), so a capture_only
   * rule there forwards like passthrough and nothing is buffered.
   */
  _shouldRecord() {
    return this._capturing;
  }

  /** @internal Records one observed exchange (status 0: no response); `url` as in _decide. */
  _recordExchange(method, url, reqHeaders, reqBody, status, respHeaders, respBody, startMs, endMs) {
    try {
      native.sessionRecord(this._handle, 'outbound', method, url, this._service,
        reqBody, reqHeaders, status, respHeaders, respBody, startMs, endMs);
    } catch (err) {
      process.emitWarning(`softprobe: could not record ${method} ${url} in session ${this._id}: ${err.message}`, {
        code: 'SOFTPROBE_CAPTURE',
      });
    }
  }

  /** @internal Keeps close() waiting for a capture still being read. */
  _track(promise) {
    this._pending.add(promise);
    promise.finally(() => this._pending.delete(promise));
  }

  /** @internal */
  _onStrictMiss(explainJson) {
    if (this._owner && this._owner.options.warnOnStrictMiss === false) return;
    let m = {};
    try {
      m = JSON.parse(explainJson);
    } catch {
      /* keep the generic message */
    }
    process.emitWarning(
      `softprobe: strict miss in session ${this._id}: ${m.method} ${m.host}${m.path} was answered with 599 ` +
        `(fingerprint ${m.requestFingerprint}). ${m.explanation || ''}. Mock it with session.mockOutbound({ method: ` +
        `'${m.method}', host: '${m.host}', path: '${m.path}', response: {...} }) or allow the host in the policy.`,
      { code: 'SOFTPROBE_STRICT_MISS' }
    );
  }

  async _setRules(rules) {
    await callAsync({ sessionId: this._id }, native.sessionSetRules, this._handle, JSON.stringify({ version: 1, rules }));
  }

  /** Runs mutating calls one at a time, so concurrent mockOutbound calls never drop a rule. */
  _serial(fn) {
    const p = this._queue.then(fn);
    this._queue = p.catch(() => {});
    return p;
  }
}

module.exports = { SoftprobeSession };
