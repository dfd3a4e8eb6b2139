'use strict';
// The control-API client for a softprobe-runtime server (contract section 6).
// It uses the http/https request functions as they were before the package
// patched them, and runs outside any session context: the package's own
// calls to the runtime are never intercepted.
const http = require('node:http');
const https = require('node:https');
const context = require('./context');
const {
  RuntimeError,
  RuntimeUnreachableError,
  UnknownSessionError,
  InvalidRuleError,
  CaseLoadError,
  SoftprobeError,
} = require('./errors');

const rawRequest = { 'http:': http.request, 'https:': https.request };

class RuntimeClient {
  /** @param {string} baseUrl @param {{token?: string, timeoutMs?: number}} [opts] */
  constructor(baseUrl, opts = {}) {
    let u;
    try {
      u = new URL(baseUrl);
    } catch {
      throw new SoftprobeError(`invalid runtime URL ${JSON.stringify(baseUrl)}: expected e.g. http://127.0.0.1:8080`, {
        code: 'INVALID_ARGUMENT',
      });
    }
    if (!rawRequest[u.protocol]) {
      throw new SoftprobeError(`runtime URL ${baseUrl} must use http or https`, { code: 'INVALID_ARGUMENT' });
    }
    this.baseUrl = u.href.replace(/\/+$/, '');
    this.token = opts.token !== undefined ? opts.token : process.env.SOFTPROBE_API_TOKEN;
    this.timeoutMs = opts.timeoutMs || 10000;
  }

  /**
   * Sends one control call; resolves with the parsed JSON answer.
   * `kind` ('rules' | 'case' | undefined) picks the error class for a 400.
   */
  call(method, path, body, { kind, sessionId, casePath } = {}) {
    const url = this.baseUrl + path;
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return context.runOutside(
      () =>
        new Promise((resolve, reject) => {
          const u = new URL(url);
          const headers = { accept: 'application/json' };
          if (payload !== undefined) {
            headers['content-type'] = 'application/json';
            headers['content-length'] = Buffer.byteLength(payload);
          }
          if (this.token) headers.authorization = `Bearer ${this.token}`;
          const req = rawRequest[u.protocol](u, { method, headers, timeout: this.timeoutMs }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('error', (err) => reject(unreachable(url, err)));
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              let json;
              try {
                json = text ? JSON.parse(text) : {};
              } catch {
                json = undefined;
              }
              if (res.statusCode >= 200 && res.statusCode < 300) {
                if (json === undefined) {
                  reject(new RuntimeError(`runtime answered ${method} ${url} with non-JSON: ${text.slice(0, 200)}`, { status: res.statusCode, body: text, url }));
                } else resolve(json);
                return;
              }
              reject(httpError(method, url, res.statusCode, text, json, { kind, sessionId, casePath }));
            });
          });
          req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${this.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
          req.on('error', (err) => reject(unreachable(url, err)));
          if (payload !== undefined) req.write(payload);
          req.end();
        })
    );
  }
}

function unreachable(url, err) {
  return new RuntimeUnreachableError(
    `cannot reach the softprobe runtime at ${url} (${err.code || err.message}); start it (softprobe-runtime --port 8080) ` +
      'or fix baseUrl / SOFTPROBE_RUNTIME_URL',
    { url, cause: err }
  );
}

function httpError(method, url, status, text, json, { kind, sessionId, casePath }) {
  const e = json && json.error && typeof json.error === 'object' ? json.error : {};
  const code = e.code || '';
  const message = e.message || text.slice(0, 500);
  if (status === 404 && (code === 'unknown_session' || sessionId)) {
    return new UnknownSessionError(
      `the runtime at ${url} has no session ${sessionId || ''}: ${message} (was it closed, or started on another runtime?)`,
      { sessionId, status, body: text, url }
    );
  }
  if (status === 400 && kind === 'rules') {
    return new InvalidRuleError(`invalid rule (runtime ${url}): ${message}`, { details: e.details || {} });
  }
  if (status === 400 && kind === 'case') {
    return new CaseLoadError(`${casePath ? `cannot load case file ${casePath}` : 'cannot load case'} (runtime ${url}): ${message}`, {
      path: casePath,
      code: 'INVALID_CASE',
    });
  }
  const hint =
    status === 401 || status === 403
      ? ' (set SOFTPROBE_API_TOKEN or pass { token } to new Softprobe())'
      : status >= 500
        ? ' (see the runtime log)'
        : '';
  return new RuntimeError(`runtime ${method} ${url} failed with ${status} ${code}: ${message}${hint}`, {
    status,
    body: text,
    url,
    code: code || 'RUNTIME_ERROR',
  });
}

module.exports = { RuntimeClient };
