'use strict';
// Softprobe: the entry point. Embedded by default (sessions live in the
// in-process core); with `baseUrl` or $SOFTPROBE_RUNTIME_URL the control
// calls also go to a softprobe-runtime server and a local mirror session
// answers this process's requests.
const native = require('./native');
const { SoftprobeSession } = require('./session');
const { RuntimeClient } = require('./runtime-client');
const { fromNative, SoftprobeError } = require('./errors');

let store = null;
/** The process's session store (one, so attach(id) finds any session of this process). */
function processStore() {
  if (store === null) store = native.storeNew();
  return store;
}

const MODES = new Set(['replay', 'capture', 'generate']);

class Softprobe {
  /**
   * @param {{baseUrl?: string, token?: string, service?: string,
   *          warnOnStrictMiss?: boolean, timeoutMs?: number}} [options]
   */
  constructor(options = {}) {
    this.options = { warnOnStrictMiss: true, ...options };
    const url = options.baseUrl !== undefined ? options.baseUrl : process.env.SOFTPROBE_RUNTIME_URL;
    this.runtime = url ? new RuntimeClient(url, { token: options.token, timeoutMs: options.timeoutMs }) : null;
  }

  /** 'embedded' or 'remote'. */
  get mode() {
    return this.runtime ? 'remote' : 'embedded';
  }

  /**
   * Starts a session: {mode: 'replay' | 'capture' | 'generate', policy?, caseId?,
   * suite?, redaction?, limits?, service?}.
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
    const local = { mode, policy, caseId, suite, redaction, limits };
    if (!this.runtime) {
      return new SoftprobeSession(this, this._newLocal(local), { service });
    }
    const body = { mode };
    if (policy !== undefined) body.policy = policy;
    const created = await this.runtime.call('POST', '/v1/sessions', body);
    let handle;
    try {
      handle = this._newLocal({ ...local, sessionId: created.sessionId });
    } catch (err) {
      await this.runtime.call('POST', `/v1/sessions/${encodeURIComponent(created.sessionId)}/close`, {}).catch(() => {});
      throw err;
    }
    return new SoftprobeSession(this, handle, { remote: this.runtime, service });
  }

  /**
   * A session object for an existing session id. Embedded: a session of this
   * process. Remote: a runtime session; its mode, policy and rules are
   * mirrored locally (its loaded case is not: call loadCase again to use
   * findInCase here).
   */
  async attach(id, { service } = {}) {
    const svc = service !== undefined ? service : this.options.service;
    if (!this.runtime) {
      const handle = this._get(id);
      const rules = JSON.parse(native.sessionGetRules(handle)).rules || [];
      return new SoftprobeSession(this, handle, { service: svc, rules });
    }
    const route = `/v1/sessions/${encodeURIComponent(id)}`;
    const state = await this.runtime.call('GET', `${route}/state`, undefined, { sessionId: id });
    let handle;
    try {
      handle = native.storeGetSession(processStore(), id);
    } catch {
      handle = this._newLocal({ sessionId: id, mode: state.mode, policy: state.policy });
    }
    const doc = await this.runtime.call('GET', `${route}/rules`, undefined, { sessionId: id });
    const rules = doc.rules || [];
    try {
      native.sessionSetRules(handle, JSON.stringify({ version: 1, rules }));
    } catch (err) {
      throw fromNative(err);
    }
    return new SoftprobeSession(this, handle, { remote: this.runtime, service: svc, rules });
  }

  /** Sessions of this process's core: [{sessionId, mode, sessionRevision}]. */
  listSessions() {
    return JSON.parse(native.storeListSessions(processStore())).sessions;
  }

  _newLocal(options) {
    try {
      return native.sessionNew(processStore(), JSON.stringify(options));
    } catch (err) {
      throw fromNative(err);
    }
  }

  _get(id) {
    try {
      return native.storeGetSession(processStore(), String(id));
    } catch (err) {
      throw fromNative(err, { sessionId: id });
    }
  }
}

module.exports = { Softprobe };
