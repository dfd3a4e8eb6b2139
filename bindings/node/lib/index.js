'use strict';
// softprobe for Node.js. Loading the package installs the interceptors
// (http, https, global fetch, the undici global dispatcher); they do nothing
// until a session is active (session.run(fn) or session.activate()).
const native = require('./native');
const { Softprobe } = require('./softprobe');
const { SoftprobeSession } = require('./session');
const errors = require('./errors');
const intercept = require('./intercept');
const context = require('./context');

intercept.install();

/** The session active for the calling code (run() context, else process-wide), or null. */
function currentSession() {
  return context.current();
}

module.exports = {
  Softprobe,
  SoftprobeSession,
  SoftprobeError: errors.SoftprobeError,
  RuntimeError: errors.RuntimeError,
  UnknownSessionError: errors.UnknownSessionError,
  RuntimeUnreachableError: errors.RuntimeUnreachableError,
  CaseLookupError: errors.CaseLookupError,
  CaseLoadError: errors.CaseLoadError,
  InvalidRuleError: errors.InvalidRuleError,
  StrictMissError: errors.StrictMissError,
  currentSession,
  /**
   * Runs fn with no active session: its requests (and everything it starts)
   * go straight to the network, e.g. a test client calling the app under test
   * while a strict session is process-wide.
   */
  withoutInterception(fn) {
    return context.runOutside(fn);
  },
  /** Re-installs the interceptors (e.g. after uninstall(), or after setGlobalDispatcher()). */
  install() {
    intercept.install();
    intercept.reinstallDispatcher();
  },
  /** Restores http/https/fetch/the global dispatcher to what they were. */
  uninstall: intercept.uninstall,
  isInstalled: intercept.isInstalled,
  /** The core's version ("0.1.0") and wire spec. */
  version: native.versionString(),
  specVersion: native.specVersion,
  /** Request fingerprint as the core computes it (contract section 5). */
  requestFingerprint(method, host, path, body = '') {
    return native.requestFingerprint(String(method), String(host), String(path), typeof body === 'string' ? body : Buffer.from(body).toString('latin1'));
  },
  /** Log level of the core's JSON-lines log: debug | info | warn | error | off. */
  setLogLevel(level) {
    native.setLogLevel(String(level));
  },
};
