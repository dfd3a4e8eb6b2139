'use strict';
// Issue 12 (interception fidelity) for the built-in clients: under softprobe a
// call fails, redirects, times out and shows its headers as it does without it.
// The client x behaviour matrix for every supported client is clients.test.js.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const http = require('node:http');
const https = require('node:https');
const undici = require('undici');
const { Softprobe } = require('..');
const { startServer, tmpDir } = require('./support');

const sp = new Softprobe({ warnOnStrictMiss: false });

function spansOf(file) {
  const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  const out = [];
  for (const t of doc.traces) for (const rs of t.resourceSpans) for (const ss of rs.scopeSpans) out.push(...ss.spans);
  return out;
}
function attr(span, key) {
  const a = span.attributes.find((x) => x.key === key);
  if (!a) return undefined;
  const v = a.value;
  if (v.arrayValue) return v.arrayValue.values.map((x) => x.stringValue);
  return v.stringValue ?? v.intValue ?? v.boolValue;
}

/** What a call throws synchronously ({code}), or 'no throw'. */
function syncError(fn) {
  try {
    const req = fn();
    req.on('error', () => {});
    req.destroy();
    return 'no throw';
  } catch (err) {
    return err.code || err.name;
  }
}

const badCalls = {
  'http.request(https URL)': () => http.request('https://127.0.0.1:9/x'),
  'https.request(http URL)': () => https.request('http://127.0.0.1:9/x'),
  'http.get(https URL)': () => http.get('https://127.0.0.1:9/x'),
  'http.request(path with a space)': () => http.request({ host: '127.0.0.1', port: 9, path: '/a b' }),
  'https.request(path with a space)': () => https.request({ host: '127.0.0.1', port: 9, path: '/a b' }),
  'http.request(bad method)': () => http.request({ host: '127.0.0.1', port: 9, method: 'GE T' }),
  'http.request(agent without addRequest)': () => http.request({ host: '127.0.0.1', port: 9, agent: {} }),
  'http.request(https agent)': () => http.request({ host: '127.0.0.1', port: 9, agent: new https.Agent() }),
  'http.request(bad timeout)': () => http.request({ host: '127.0.0.1', port: 9, timeout: 'soon' }),
  'http.request(bad maxHeaderSize)': () => http.request({ host: '127.0.0.1', port: 9, maxHeaderSize: -1 }),
  'http.request(bad insecureHTTPParser)': () => http.request({ host: '127.0.0.1', port: 9, insecureHTTPParser: 'yes' }),
  'http.request(bad joinDuplicateHeaders)': () => http.request({ host: '127.0.0.1', port: 9, joinDuplicateHeaders: 1 }),
  'http.request(bad uniqueHeaders)': () => http.request({ host: '127.0.0.1', port: 9, uniqueHeaders: 'x-a' }),
  'http.request(hostname not a string)': () => http.request({ hostname: 5, port: 9 }),
  'https.request(host not a string)': () => https.request({ host: ['127.0.0.1'], port: 9 }),
  'http.request(method not a string)': () => http.request({ host: '127.0.0.1', port: 9, method: 5 }),
  'http.request(bad header name)': () => http.request({ host: '127.0.0.1', port: 9, headers: { 'x a': '1' } }),
  'http.request(bad header value)': () => http.request({ host: '127.0.0.1', port: 9, headers: { 'x-a': 'one\ntwo' } }),
  'http.request(URL, options with a bad method)': () => http.request('http://127.0.0.1:9/x', { method: 'GE T' }),
  'http.request(URL, options with the https protocol)': () => http.request('http://127.0.0.1:9/x', { protocol: 'https:' }),
  'http.request(URL, options with an undefined path)': () => http.request('http://127.0.0.1:9/a b', { path: undefined }),
  // Option objects as got and axios pass them: dozens of keys Node does not read (V8 dictionary mode).
  'http.request(URL, 40 options, bad timeout)': () => http.request(new URL('http://127.0.0.1:9/x'), manyOptions({ timeout: 'soon' })),
  'http.request(40 options, bad header name)': () => http.request(manyOptions({ host: '127.0.0.1', port: 9, headers: { 'x a': '1' } })),
  'http.request(40 options)': () => http.request(manyOptions({ host: '127.0.0.1', port: 9 })),
};

/** An options object with 40 keys of a client's own besides `own`, added one by one (V8 dictionary mode, as got's). */
function manyOptions(own) {
  const o = {};
  for (let i = 0; i < 40; i++) o[`clientOption${i}`] = i;
  return Object.assign(o, own);
}

for (const mode of ['capture', 'replay']) {
  test(`${mode}: http(s).request throws its synchronous errors at the call, as without softprobe`, async () => {
    const expected = {};
    for (const [name, fn] of Object.entries(badCalls)) expected[name] = syncError(fn);
    assert.equal(expected['http.request(https URL)'], 'ERR_INVALID_PROTOCOL');
    assert.equal(expected['http.request(path with a space)'], 'ERR_UNESCAPED_CHARACTERS');
    assert.equal(expected['http.request(URL, 40 options, bad timeout)'], 'ERR_INVALID_ARG_TYPE');
    assert.equal(expected['http.request(40 options)'], 'no throw');
    const s = await sp.startSession({ mode, policy: { externalHttp: 'strict' } });
    await s.mockOutbound({ pathPrefix: '/', response: { status: 200, body: 'mocked' } });
    const uncaught = [];
    const onUncaught = (e) => uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    try {
      const seen = await s.run(async () => {
        const out = {};
        for (const [name, fn] of Object.entries(badCalls)) out[name] = syncError(fn);
        await new Promise((r) => setTimeout(r, 20));
        return out;
      });
      assert.deepEqual(seen, expected);
      assert.deepEqual(uncaught, []);
      assert.equal((await s.getStats()).stats.injectedSpans, 0, 'no call reached the core');
    } finally {
      process.off('uncaughtException', onUncaught);
      await s.close(mode === 'capture' ? { out: path.join(tmpDir(), 'x.case.json') } : {});
    }
  });
}

test('capture records each hop of a redirect fetch follows (302 with location, then the target)', async () => {
  const upstream = await startServer((req, res) => {
    if (req.url === '/redirect') {
      res.writeHead(302, { location: '/target' });
      res.end('moved');
    } else {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('target body');
    }
  });
  const out = path.join(tmpDir(), 'redirect.case.json');
  const s = await sp.startSession({ mode: 'capture' });
  try {
    const live = await s.run(async () => {
      const r = await fetch(`${upstream.url}/redirect`);
      return { status: r.status, url: r.url, redirected: r.redirected, body: await r.text() };
    });
    assert.deepEqual(live, { status: 200, url: `${upstream.url}/target`, redirected: true, body: 'target body' });
  } finally {
    await s.close({ out });
  }
  const spans = spansOf(out);
  assert.deepEqual(
    spans.map((x) => [attr(x, 'url.path'), Number(attr(x, 'http.response.status_code'))]),
    [['/redirect', 302], ['/target', 200]]
  );
  assert.equal(attr(spans[0], 'http.response.header.location'), '/target');
  assert.equal(attr(spans[1], 'http.response.body'), 'target body');

  // Strict replay with the upstream stopped: fetch follows the recorded hops.
  await upstream.close();
  const r = await sp.startSession({ mode: 'replay', policy: { externalHttp: 'strict' } });
  try {
    await r.loadCaseFromFile(out);
    for (const p of ['/redirect', '/target']) await r.mockOutbound({ path: p, response: r.findInCase({ path: p }).response });
    await r.run(async () => {
      const res = await fetch(`${upstream.url}/redirect`);
      assert.deepEqual({ status: res.status, url: res.url, redirected: res.redirected, body: await res.text() }, {
        status: 200,
        url: `${upstream.url}/target`,
        redirected: true,
        body: 'target body',
      });
      const manual = await fetch(`${upstream.url}/redirect`, { redirect: 'manual' });
      assert.equal(manual.status, 302);
      assert.equal(manual.headers.get('location'), '/target');
      assert.equal(manual.redirected, false);
      await assert.rejects(fetch(`${upstream.url}/redirect`, { redirect: 'error' }), TypeError);
    });
    assert.equal((await r.getStats()).stats.strictMisses, 0);
  } finally {
    await r.close();
  }
});

test('a passthrough redirect to a host nobody allowed is blocked by the strict policy at the second hop', async () => {
  const other = await startServer();
  const upstream = await startServer((req, res) => {
    res.writeHead(302, { location: `http://localhost:${other.port}/elsewhere` });
    res.end();
  });
  const s = await sp.startSession({ mode: 'replay', policy: { externalHttp: 'strict' } });
  await s.mockOutbound({ host: '127.0.0.1', action: 'passthrough' });
  try {
    const res = await s.run(() => fetch(`${upstream.url}/go`));
    assert.equal(res.status, 599);
    assert.equal(res.headers.get('x-softprobe-strict-miss'), '1');
    assert.equal(res.redirected, true);
    await res.text();
    assert.equal(other.count, 0, 'the redirect target was never reached');
  } finally {
    await s.close();
    await upstream.close();
    await other.close();
  }
});

test("undici: headersTimeout fires on mocked latency as on a slow server", async () => {
  // undici 7 runs headersTimeout on ~0.5 s timer ticks: the live server is much slower than the timeout.
  const slow = await startServer((req, res) => setTimeout(() => res.end('late'), 2500));
  const s = await sp.startSession({ mode: 'replay', policy: { externalHttp: 'strict' } });
  await s.mockOutbound({ path: '/mocked', latencyMs: 800, response: { status: 200, body: 'late' } });
  await s.mockOutbound({ path: '/slow', action: 'passthrough' });
  try {
    await s.run(async () => {
      const live = await undici.request(`${slow.url}/slow`, { headersTimeout: 200 }).catch((e) => e);
      assert.equal(live.code, 'UND_ERR_HEADERS_TIMEOUT');
      const t0 = Date.now();
      const mocked = await undici.request(`${slow.url}/mocked`, { headersTimeout: 200 }).catch((e) => e);
      assert.equal(mocked.code, 'UND_ERR_HEADERS_TIMEOUT');
      assert.equal(mocked.name, live.name);
      assert.ok(Date.now() - t0 < 700, `answered after ${Date.now() - t0} ms, the timeout is 200 ms`);
      // A latency under the timeout is answered.
      const ok = await undici.request(`${slow.url}/mocked`, { headersTimeout: 2000 });
      assert.equal(await ok.body.text(), 'late');
    });
  } finally {
    await s.close();
    await slow.close();
  }
});

test('http: setTimeout() called after end() fires on mocked latency', async () => {
  const s = await sp.startSession({ mode: 'replay', policy: { externalHttp: 'strict' } });
  await s.mockOutbound({ path: '/slow', latencyMs: 800, response: { status: 200, body: 'late' } });
  try {
    const t0 = Date.now();
    const err = await s.run(
      () =>
        new Promise((resolve) => {
          const req = http.request('http://api.example.test/slow', () => resolve('response'));
          req.on('error', resolve);
          req.end();
          setImmediate(() => req.setTimeout(150, () => req.destroy(Object.assign(new Error('timed out'), { code: 'APP_TIMEOUT' }))));
        })
    );
    assert.equal(err.code, 'APP_TIMEOUT');
    assert.ok(Date.now() - t0 < 700);
  } finally {
    await s.close();
  }
});

test("undici: the global dispatcher's own headersTimeout applies to mocked latency", async () => {
  const softprobe = require('..');
  const before = undici.getGlobalDispatcher();
  const agent = new undici.Agent({ headersTimeout: 200 });
  undici.setGlobalDispatcher(agent);
  softprobe.install(); // re-wraps the new global dispatcher
  const s = await sp.startSession({ mode: 'replay', policy: { externalHttp: 'strict' } });
  await s.mockOutbound({ path: '/mocked', latencyMs: 800, response: { status: 200, body: 'late' } });
  try {
    const t0 = Date.now();
    const err = await s.run(() => undici.request('http://api.example.test/mocked').catch((e) => e));
    assert.equal(err.code, 'UND_ERR_HEADERS_TIMEOUT');
    assert.ok(Date.now() - t0 < 700);
  } finally {
    await s.close();
    undici.setGlobalDispatcher(before);
    softprobe.install();
    await agent.close();
  }
});

test('node-fetch: an AbortSignal ends mocked latency as it ends a slow request', async () => {
  const nodeFetch = require('node-fetch');
  const s = await sp.startSession({ mode: 'replay', policy: { externalHttp: 'strict' } });
  await s.mockOutbound({ path: '/slow', latencyMs: 800, response: { status: 200, body: 'late' } });
  try {
    const t0 = Date.now();
    const err = await s.run(() => nodeFetch('http://api.example.test/slow', { signal: AbortSignal.timeout(150) }).catch((e) => e));
    assert.equal(err.name, 'AbortError');
    assert.ok(Date.now() - t0 < 700);
  } finally {
    await s.close();
  }
});

test('fetch, http and undici show the decided content-length of 204 and 304 responses (nothing to decode)', async () => {
  const s = await sp.startSession({ mode: 'replay', policy: { externalHttp: 'strict' } });
  await s.mockOutbound({ path: '/204', response: { status: 204, headers: { 'content-length': '0', etag: '"a"' } } });
  await s.mockOutbound({ path: '/304', response: { status: 304, headers: { 'content-length': '90', etag: '"a"' } } });
  try {
    await s.run(async () => {
      for (const [p, len] of [['/204', '0'], ['/304', '90']]) {
        const f = await fetch(`http://api.example.test${p}`);
        assert.equal(f.headers.get('content-length'), len, `fetch ${p}`);
        assert.equal(await f.text(), '');
        const u = await undici.request(`http://api.example.test${p}`);
        assert.equal(u.headers['content-length'], len, `undici ${p}`);
        await u.body.text();
        const h = await new Promise((resolve, reject) => http.get(`http://api.example.test${p}`, resolve).on('error', reject));
        assert.equal(h.headers['content-length'], len, `http ${p}`);
        h.resume();
      }
    });
  } finally {
    await s.close();
  }
});

test("capture: fetch with the application's own dispatcher goes through it and is recorded", async () => {
  const upstream = await startServer();
  const agent = new undici.Agent();
  let dispatched = 0;
  const counting = {
    dispatch(opts, handler) {
      dispatched++;
      return agent.dispatch(opts, handler);
    },
    close: () => agent.close(),
    destroy: () => agent.destroy(),
  };
  const out = path.join(tmpDir(), 'own-dispatcher.case.json');
  const s = await sp.startSession({ mode: 'capture' });
  try {
    const body = await s.run(async () => (await fetch(`${upstream.url}/own`, { dispatcher: counting })).json());
    assert.equal(body.path, '/own');
  } finally {
    await s.close({ out });
    await upstream.close();
    await agent.close();
  }
  assert.equal(dispatched, 1);
  assert.deepEqual(spansOf(out).map((x) => attr(x, 'url.path')), ['/own']);
});
