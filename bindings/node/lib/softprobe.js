'use strict';
// Softprobe: the entry point. It only chooses the store: embedded by default
// (sessions live in the in-process core), or, with `baseUrl` or
// $SOFTPROBE_RUNTIME_URL, a remote store of the core (sp_store_new_remote),
// whose sessions are held by a softprobe-runtime server with a local mirror
// in the core that decides this process's requests. Everything else (the
// control API, the mirror protocol, stats, close) is the core's; the session
// calls are the same in both modes.
const native = require('./native');
const { SoftprobeSession } = require('./session');
const { fromNative, SoftprobeError } = require('./errors');

let store = null;
/** The process's embedded store (one, so attach(id) finds any session of this process). */
function processStore() {
  if (store === null) store = native.storeNew();
  return store;
}

// Remote stores by (url, token, timeout): one per runtime in a process, so a
// second Softprobe for the same runtime shares the mirrors (attach(id) of a
// session this process already mirrors finds that mirror, as before).
const remoteStores = new Map();
function remoteStore(url, token, timeoutMs) {
  const key = JSON.stringify([url, token, timeoutMs]);
  let s = remoteStores.get(key);
  if (s === undefined) {
    try {
      s = native.storeNewRemote(url, token, timeoutMs);
    } catch (err) {
      throw fromNative(err);
    }
    remoteStores.set(key, s);
  }
  return s;
}

const MODES = new Set(['replay', 'capture', 'generate']);
const DEFAULT_TIMEOUT_MS = 10000;

class Softprobe {
  /**
   * @param {{baseUrl?: string, token?: string, service?: string,
   *          warnOnStrictMiss?: boolean, timeoutMs?: number}} [options]
   */
  constructor(options = {}) {
    this.options = { warnOnStrictMiss: true, ...options };
    const url = options.baseUrl !== undefined ? options.baseUrl : process.env.SOFTPROBE_RUNTIME_URL;
    if (url === undefined || url === '') {
      this._store = processStore();
      return;
    }
    if (typeof url !== 'string') {
      throw new SoftprobeError(`baseUrl must be a string such as 'http://127.0.0.1:8080', not ${typeof url}`, { code: 'INVALID_ARGUMENT' });
    }
    const token = options.token !== undefined ? options.token : process.env.SOFTPROBE_API_TOKEN || '';
    if (typeof token !== 'string') {
      throw new SoftprobeError(`token must be a string, not ${typeof token}`, { code: 'INVALID_ARGUMENT' });
    }
    const timeoutMs = options.timeoutMs === undefined ? DEFAULT_TIMEOUT_MS : options.timeoutMs;
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) {
      throw new SoftprobeError(`timeoutMs must be a positive integer number of milliseconds, not ${String(timeoutMs)}`, {
        code: 'INVALID_ARGUMENT',
      });
    }
    this._store = remoteStore(url, token, timeoutMs);
  }

  /** 'embedded' or 'remote'. */
  get mode() {
    return native.storeIsRemote(this._store) ? 'remote' : 'embedded';
  }

  /**
   * Starts a session: {mode: 'replay' | 'capture' | 'generate', policy?, caseId?,
   * suite?, redaction?, limits?, service?}. Remote: the runtime creates it
   * (and chooses its id), then the core makes the local mirror.
   * @returns {Promise<SoftprobeSession>}
   */
  async startSession(options = {}) {
    const { mode = 'replay', policy, caseId, suite, redaction, limits } = options;
    const service = options.service !== undefined ? options.service : this.options.service;
    if (!MODES.has(mode)) {
      throw new SoftprobeError(`startSession: mode must be 'replay', 'capture' or 'generate', not ${JSON.stringify(mode)}`, {
        code: 'INVALID_ARGUMENT',
      });
    }
    const doc = JSON.stringify({ mode, policy, caseId, suite, redaction, limits });
    let handle;
    try {
      handle = await native.sessionNew(this._store, doc);
    } catch (err) {
      throw fromNative(err);
    }
    return new SoftprobeSession(this, handle, { service });
  }

  /**
   * A session object for an existing session id. Embedded: a session of this
   * process. Remote: a runtime session (started here or by another process);
   * the core mirrors its mode, policy, rules and auth fixtures (its loaded
   * case is not: call loadCase again to use findInCase here).
   */
  async attach(id, { service } = {}) {
    const svc = service !== undefined ? service : this.options.service;
    let handle;
    try {
      handle = await native.storeGetSession(this._store, String(id));
    } catch (err) {
      throw fromNative(err, { sessionId: String(id) });
    }
    return new SoftprobeSession(this, handle, { service: svc });
  }

  /**
   * Sessions of this instance's store in this process's core (embedded: the
   * process's sessions; remote: the local mirrors of this runtime's sessions).
   */
  listSessions() {
    return JSON.parse(native.storeListSessions(this._store)).sessions;
  }
}

module.exports = { Softprobe };
