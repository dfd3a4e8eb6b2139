'use strict';
// Error classes of the package, and the translation of core failures
// (sp_status + sp_last_error + details) into them. In remote mode the core
// talks to the runtime; its SP_E_RUNTIME / SP_E_UNKNOWN_SESSION details
// ({url, status?, cause?, ...the runtime's details}) fill the fields below.

class SoftprobeError extends Error {
  /** @param {string} message @param {{code?: string, details?: object, cause?: unknown}} [opts] */
  constructor(message, opts = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = new.target.name;
    this.code = opts.code || 'SOFTPROBE_ERROR';
    this.details = opts.details || {};
  }
}

/**
 * The runtime server answered with an HTTP error (401, 500, ...) or with
 * something that is not JSON: `status` is its HTTP status, `url` the URL
 * called; the message carries the runtime's message (or the start of its
 * body) and `details` the runtime's error details.
 */
class RuntimeError extends SoftprobeError {
  constructor(message, { status, url, code, details, cause } = {}) {
    super(message, { code: code || 'RUNTIME_ERROR', details, cause });
    this.status = status;
    this.url = url;
  }
}

/** The session id is not known (to the runtime, or to the in-process store). */
class UnknownSessionError extends SoftprobeError {
  constructor(message, { sessionId, status, url, details, cause } = {}) {
    super(message, { code: 'UNKNOWN_SESSION', details: { ...details, sessionId }, cause });
    this.sessionId = sessionId;
    this.status = status;
    this.url = url;
  }
}

/**
 * The runtime server could not be reached at all (refused, DNS, no answer
 * within timeoutMs): `url` is the URL called, `details.cause` libcurl's reason.
 */
class RuntimeUnreachableError extends SoftprobeError {
  constructor(message, { url, details, cause } = {}) {
    super(message, { code: 'RUNTIME_UNREACHABLE', details, cause });
    this.url = url;
  }
}

/** findInCase matched zero or several spans; `matches` lists them. */
class CaseLookupError extends SoftprobeError {
  constructor(message, { matches = [], predicate, details } = {}) {
    super(message, { code: 'CASE_LOOKUP', details });
    this.matches = matches;
    this.predicate = predicate;
  }
}

/** A case file or document could not be read or is not a valid case. */
class CaseLoadError extends SoftprobeError {
  constructor(message, { path, code, details, cause } = {}) {
    super(message, { code: code || 'CASE_LOAD', details, cause });
    this.path = path;
  }
}

/** A rule (or rule document) is invalid; `ruleIndex` and `field` say where. */
class InvalidRuleError extends SoftprobeError {
  constructor(message, { details = {}, code } = {}) {
    super(message, { code: code || 'INVALID_RULE', details });
    this.ruleIndex = details.ruleIndex;
    this.field = details.field;
  }
}

/** Raised by session.assertNoStrictMisses(): requests the strict policy blocked. */
class StrictMissError extends SoftprobeError {
  constructor(message, { misses = [] } = {}) {
    super(message, { code: 'STRICT_MISS', details: { misses } });
    this.misses = misses;
  }
}

function parseDetails(text) {
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}

/**
 * Turns an error thrown by the addon ({message, code: "SP_E_...", details})
 * into the package's error class. `ctx.path` names a case file being loaded;
 * `ctx.loading` marks a case load; `ctx.sessionId` an id being looked up.
 */
function fromNative(err, ctx = {}) {
  if (!err || typeof err.code !== 'string' || !err.code.startsWith('SP_')) return err;
  const details = parseDetails(err.details);
  const msg = err.message;
  switch (err.code) {
    case 'SP_E_INVALID_RULE':
      if (ctx.loading) {
        return new CaseLoadError(`${loadPrefix(ctx)}the case's embedded rules are invalid: ${msg}`, {
          path: ctx.path,
          code: 'INVALID_RULE',
          details,
        });
      }
      return new InvalidRuleError(`invalid rule: ${msg}`, { details });
    case 'SP_E_CASE_LOOKUP': {
      const matches = Array.isArray(details.matches) ? details.matches : [];
      return new CaseLookupError(lookupMessage(msg, matches, ctx.predicate), {
        matches,
        predicate: ctx.predicate,
        details,
      });
    }
    case 'SP_E_UNKNOWN_SESSION': {
      const sessionId = ctx.sessionId || details.sessionId;
      if (typeof details.url === 'string') {
        // The runtime answered 404 unknown_session.
        return new UnknownSessionError(
          `the runtime at ${details.url} has no session ${sessionId || ''}: ${msg}`,
          { sessionId, status: details.status, url: details.url, details, cause: err }
        );
      }
      return new UnknownSessionError(
        `${msg}: no open session with that id in this process` +
          ' (start one with softprobe.startSession(), or pass baseUrl to reach a runtime server)',
        { sessionId, details, cause: err }
      );
    }
    case 'SP_E_RUNTIME':
      if (typeof details.status !== 'number' && typeof details.cause === 'string') {
        // Not reached (no HTTP status): refused, DNS, TLS, or no answer in time.
        return new RuntimeUnreachableError(
          `${msg}; start it (softprobe-runtime --port 8080) or fix baseUrl / SOFTPROBE_RUNTIME_URL`,
          { url: details.url, details, cause: err }
        );
      }
      return new RuntimeError(
        msg + (details.status === 401 || details.status === 403 ? ' (or pass { token } to new Softprobe())' : ''),
        { status: details.status, url: details.url, details, cause: err }
      );
    case 'SP_E_IO':
    case 'SP_E_INVALID_JSON':
    case 'SP_E_INVALID_CASE':
    case 'SP_E_LIMIT_EXCEEDED':
      if (ctx.loading) {
        return new CaseLoadError(loadPrefix(ctx) + msg, { path: ctx.path, code: err.code, details, cause: err });
      }
      return new SoftprobeError(msg, { code: err.code, details, cause: err });
    default:
      return new SoftprobeError(msg, { code: err.code, details, cause: err });
  }
}

function loadPrefix(ctx) {
  return ctx.path ? `cannot load case file ${ctx.path}: ` : 'cannot load case: ';
}

function lookupMessage(coreMessage, matches, predicate) {
  const pred = predicate ? ` for ${JSON.stringify(predicate)}` : '';
  if (matches.length === 0) {
    return `findInCase${pred} matched no span that carries a response; widen the predicate or check the case (${coreMessage})`;
  }
  const list = matches
    .slice(0, 10)
    .map((m) => `  ${m.method || '?'} ${m.host || '?'}${m.path || ''} (span ${m.spanId}, status ${m.status})`)
    .join('\n');
  return `findInCase${pred} matched ${matches.length} spans; narrow the predicate (e.g. add method, path or host) so exactly one matches:\n${list}`;
}

module.exports = {
  SoftprobeError,
  RuntimeError,
  UnknownSessionError,
  RuntimeUnreachableError,
  CaseLookupError,
  CaseLoadError,
  InvalidRuleError,
  StrictMissError,
  fromNative,
  parseDetails,
};
