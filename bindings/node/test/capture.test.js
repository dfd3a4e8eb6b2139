'use strict';
// Capture: real traffic goes out and is recorded by the core; close() writes
// the case file; a replay session serves it back with the upstream stopped.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const undici = require('undici');
const { Softprobe } = require('..');
const { startServer, startTlsServer, request, tmpDir, TLS } = require('./support');

const sp = new Softprobe({ warnOnStrictMiss: false });

function attr(span, key) {
  const a = span.attributes.find((x) => x.key === key);
  if (!a) return undefined;
  const v = a.value;
  return v.stringValue ?? v.intValue ?? v.boolValue ?? v.doubleValue ?? v.bytesValue;
}

function spansOf(doc) {
  const out = [];
  for (const t of doc.traces) for (const rs of t.resourceSpans) for (const ss of rs.scopeSpans) out.push(...ss.spans);
  return out;
}

test('capture -> case file -> strict replay with the upstream stopped (fetch, http, https, undici)', async () => {
  const upstream = await startServer();
  const tls = await startTlsServer();
  const dir = tmpDir();
  const out = path.join(dir, 'checkout.case.json');
  try {
    await captureThenReplay(upstream, tls, out);
  } finally {
    await upstream.close();
    await tls.close();
  }
});

async function captureThenReplay(upstream, tls, out) {
  // 1. Capture real traffic.
  const cap = await sp.startSession({ mode: 'capture', caseId: 'checkout' });
  const live = await cap.run(async () => {
    const a = await (await fetch(`${upstream.url}/fetch/path?x=1`, { method: 'POST', body: '{"amount":5}', headers: { 'content-type': 'application/json' } })).json();
    const b = JSON.parse((await request(`${upstream.url}/http/path`, { get: true })).body);
    const c = JSON.parse((await request(`${tls.url}/https/path`, { get: true, ca: TLS.cert })).body);
    const r = await undici.request(`${upstream.url}/undici/path`);
    const d = await r.body.json();
    return { a, b, c, d };
  });
  assert.equal(live.a.path, '/fetch/path');
  assert.equal(live.c.path, '/https/path');
  assert.equal(upstream.count, 3);
  assert.equal(tls.count, 1);
  const closed = await cap.close({ out });
  assert.equal(closed.capturePath, out);

  // 2. The file holds one span per exchange, with request and response.
  const doc = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.equal(doc.caseId, 'checkout');
  const spans = spansOf(doc);
  assert.equal(spans.length, 4);
  const byPath = Object.fromEntries(spans.map((s) => [attr(s, 'url.path'), s]));
  const f = byPath['/fetch/path'];
  assert.equal(attr(f, 'http.request.method'), 'POST');
  assert.equal(attr(f, 'url.host'), upstream.host);
  assert.equal(attr(f, 'http.request.body'), '{"amount":5}');
  assert.equal(Number(attr(f, 'http.response.status_code')), 200);
  assert.equal(JSON.parse(attr(f, 'http.response.body')).n, live.a.n);
  assert.equal(attr(byPath['/https/path'], 'url.scheme'), 'https');
  assert.ok(BigInt(f.endTimeUnixNano) >= BigInt(f.startTimeUnixNano));
  assert.ok(BigInt(f.startTimeUnixNano) > 1600000000000000000n, 'timings are Unix nanoseconds');

  // 3. Replay offline: upstreams stopped, strict policy, responses picked with findInCase.
  await upstream.close();
  await tls.close();
  const replay = await sp.startSession({ mode: 'replay', policy: { externalHttp: 'strict' } });
  try {
    await replay.loadCaseFromFile(out);
    for (const p of ['/fetch/path', '/http/path', '/https/path', '/undici/path']) {
      const hit = replay.findInCase({ path: p });
      await replay.mockOutbound({ path: p, response: hit.response });
    }
    await replay.run(async () => {
      const a = await (await fetch(`${upstream.url}/fetch/path?x=1`, { method: 'POST', body: '{"amount":5}' })).json();
      assert.deepEqual(a, live.a);
      const b = await request(`${upstream.url}/http/path`, { get: true });
      assert.deepEqual(JSON.parse(b.body), live.b);
      assert.equal(b.headers['x-upstream'], '1');
      // The core redacts secrets before storage (set-cookie by default).
      assert.deepEqual(b.headers['set-cookie'], ['[REDACTED]', '[REDACTED]']); // one entry per line
      const c = await request(`${tls.url}/https/path`, { get: true, ca: TLS.cert });
      assert.deepEqual(JSON.parse(c.body), live.c);
      const d = await undici.request(`${upstream.url}/undici/path`);
      assert.deepEqual(await d.body.json(), live.d);
      const miss = await fetch(`${upstream.url}/never/recorded`);
      assert.equal(miss.status, 599);
      await miss.text();
    });
    assert.equal((await replay.getStats()).stats.strictMisses, 1);
  } finally {
    await replay.close();
  }
}

test('a compressed response captured by http replays through fetch decoded, with content-encoding kept', async () => {
  const gz = zlib.gzipSync('{"zipped":true}');
  const upstream = await startServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': gz.length });
    res.end(gz);
  });
  const dir = tmpDir();
  const out = path.join(dir, 'gz.case.json');
  const cap = await sp.startSession({ mode: 'capture' });
  const raw = await cap.run(() => request(`${upstream.url}/gz`, { get: true }));
  assert.equal(raw.headers['content-encoding'], 'gzip');
  await cap.close({ out });
  await upstream.close();

  const replay = await sp.startSession({ mode: 'replay', policy: { externalHttp: 'strict' } });
  try {
    await replay.loadCaseFromFile(out);
    await replay.mockOutbound({ path: '/gz', response: replay.findInCase({ path: '/gz' }).response });
    const res = await replay.run(() => fetch(`${upstream.url}/gz`));
    // As a network fetch shows it: decoded body, headers as sent (issue 12, item 8).
    assert.equal(res.headers.get('content-encoding'), 'gzip');
    assert.equal(res.headers.get('content-length'), String(gz.length));
    assert.deepEqual(await res.json(), { zipped: true });
  } finally {
    await replay.close();
  }
});

test('capture_only in a replay session forwards and keeps nothing (the core keeps no exchanges of a replay session)', async () => {
  const upstream = await startServer();
  const s = await sp.startSession({ mode: 'replay', policy: { externalHttp: 'strict' } });
  await s.mockOutbound({ path: '/recorded', action: 'capture_only' });
  try {
    await s.run(async () => {
      assert.equal((await (await fetch(`${upstream.url}/recorded`)).json()).path, '/recorded');
      assert.equal(JSON.parse((await request(`${upstream.url}/recorded`, { get: true })).body).path, '/recorded');
    });
    assert.equal(upstream.count, 2);
    const { stats } = await s.getStats();
    assert.equal(stats.extractedSpans, 0);
    assert.equal(stats.strictMisses, 0);
  } finally {
    await s.close();
    await upstream.close();
  }
});

test('capture_only in a capture session records', async () => {
  const upstream = await startServer();
  const s = await sp.startSession({ mode: 'capture' });
  await s.mockOutbound({ path: '/recorded', action: 'capture_only' });
  try {
    await s.run(async () => (await fetch(`${upstream.url}/recorded`)).text());
    // sp_session_record counts each recorded exchange in extractedSpans.
    assert.equal((await s.getStats()).stats.extractedSpans, 1);
  } finally {
    await s.close({ out: path.join(tmpDir(), 'c.case.json') });
    await upstream.close();
  }
});

test('a failed upstream (connection refused) is recorded without a response and the error reaches the app', async () => {
  const upstream = await startServer();
  const url = upstream.url;
  await upstream.close();
  const dir = tmpDir();
  const out = path.join(dir, 'refused.case.json');
  const s = await sp.startSession({ mode: 'capture' });
  await s.run(async () => {
    await assert.rejects(fetch(`${url}/down`), TypeError);
    await assert.rejects(request(`${url}/down2`, { get: true }), (e) => e.code === 'ECONNREFUSED');
  });
  await s.close({ out });
  const spans = spansOf(JSON.parse(fs.readFileSync(out, 'utf8')));
  assert.deepEqual(spans.map((x) => attr(x, 'url.path')).sort(), ['/down', '/down2']);
  for (const x of spans) assert.equal(attr(x, 'http.response.status_code'), undefined);
});
