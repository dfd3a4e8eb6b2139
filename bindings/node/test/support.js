'use strict';
// Test helpers: local upstream servers (HTTP and HTTPS with the test-only
// certificate in fixtures/tls), small clients that go through the patched
// http/https modules, temp dirs, and the softprobe-runtime process.
const http = require('node:http');
const https = require('node:https');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');

const TLS = {
  key: fs.readFileSync(path.join(__dirname, 'fixtures', 'tls', 'key.pem')),
  cert: fs.readFileSync(path.join(__dirname, 'fixtures', 'tls', 'cert.pem')),
};

/** An upstream that echoes what it got: {method, path, query, body, n} as JSON. */
function defaultHandler(state) {
  return (req, res, body) => {
    state.count++;
    const u = new URL(req.url, 'http://x');
    const out = JSON.stringify({ from: 'upstream', method: req.method, path: u.pathname, query: u.search, body, n: state.count });
    res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': '1', 'set-cookie': ['a=1', 'b=2'] });
    res.end(out);
  };
}

function listen(server, state, secure) {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      const scheme = secure ? 'https' : 'http';
      resolve({
        port,
        host: `127.0.0.1:${port}`,
        url: `${scheme}://127.0.0.1:${port}`,
        requests: state.requests,
        get count() {
          return state.count;
        },
        close: () =>
          new Promise((r) => {
            server.closeAllConnections && server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}

function serve(createServer, handler, secure) {
  const state = { count: 0, requests: [] };
  const h = handler || defaultHandler(state);
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      state.requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      if (handler) state.count++;
      h(req, res, body);
    });
  });
  return listen(server, state, secure);
}

const startServer = (handler) => serve((cb) => http.createServer(cb), handler, false);
const startTlsServer = (handler) => serve((cb) => https.createServer(TLS, cb), handler, true);

/** GET/POST through the (patched) http or https module; resolves {status, headers, body}. */
function request(url, { method = 'GET', headers = {}, body, ca, get = false } = {}) {
  const mod = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const opts = { method, headers };
    if (ca) opts.ca = ca;
    const onResponse = (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), res }));
      res.on('error', reject);
    };
    const req = get ? mod.get(url, opts, onResponse) : mod.request(url, opts, onResponse);
    req.on('error', reject);
    if (!get) {
      if (body !== undefined) req.write(body);
      req.end();
    }
  });
}

function tmpDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'softprobe-node-test-'));
}

function runtimeBinary() {
  const candidates = [
    process.env.SOFTPROBE_RUNTIME_BIN,
    path.join(__dirname, '..', '..', '..', 'build-node', 'runtime-server', 'softprobe-runtime'),
    path.join(__dirname, '..', '..', '..', 'build', 'runtime-server', 'softprobe-runtime'),
  ].filter(Boolean);
  for (const c of candidates) if (fs.existsSync(c)) return path.resolve(c);
  throw new Error(
    `softprobe-runtime not found (tried ${candidates.join(', ')}); build it ` +
      '(ninja -C build-node softprobe-runtime) or set SOFTPROBE_RUNTIME_BIN'
  );
}

/** Starts softprobe-runtime --port 0; resolves {url, stop(), logs()}. */
function startRuntime(args = []) {
  const bin = runtimeBinary();
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['--port', '0', '--log-level', 'warn', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Never leave a runtime behind, even when the test process ends abruptly.
    const reap = () => child.exitCode === null && child.kill('SIGKILL');
    process.once('exit', reap);
    child.once('exit', () => process.off('exit', reap));
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`softprobe-runtime did not print its address within 10 s; stderr: ${err}`));
    }, 10000);
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!out.includes('\n')) reject(new Error(`softprobe-runtime exited (${code}) before listening; stderr: ${err}`));
    });
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve({
          url: out.slice(0, nl).trim(),
          logs: () => err,
          stop: () =>
            new Promise((r) => {
              if (child.exitCode !== null) return r();
              child.once('exit', () => r());
              child.kill('SIGTERM');
            }),
        });
      }
    });
  });
}

/** Collects process warnings emitted while fn runs. */
async function collectWarnings(fn) {
  const seen = [];
  const onWarning = (w) => seen.push(w);
  process.on('warning', onWarning);
  try {
    await fn();
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('warning', onWarning);
  }
  return seen;
}

module.exports = { TLS, startServer, startTlsServer, request, tmpDir, runtimeBinary, startRuntime, collectWarnings };
