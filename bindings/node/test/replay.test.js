'use strict';
// Replay: mocks, errors, strict misses and passthrough through every
// intercepted client (fetch, http, https, undici.request).
const test = require('node:test');
const assert = require('node:assert/strict');
const undici = require('undici');
const softprobe = require('..');
const { Softprobe } = softprobe;
const { startServer, startTlsServer, request, collectWarnings, TLS } = require('./support');

const sp = new Softprobe({ warnOnStrictMiss: false });
const STRICT = { externalHttp: 'strict' };

async function strictSession(rules = []) {
  const s = await sp.startSession({ mode: 'replay', policy: STRICT });
  for (const r of rules) await s.mockOutbound(r);
  return s;
}

const ITEMS = {
  method: 'GET',
  host: 'api.example.com',
  path: '/v1/items',
  response: { status: 200, headers: { 'content-type': 'application/json', 'x-mocked': 'yes' }, body: { items: [1, 2, 3] } },
};

test('fetch: a mock is served in process with status, headers, body and url', async () => {
  const s = await strictSession([ITEMS]);
  try {
    const res = await s.run(() => fetch('http://api.example.com/v1/items?page=2'));
    assert.equal(res.status, 200);
    assert.equal(res.statusText, 'OK');
    assert.equal(res.headers.get('x-mocked'), 'yes');
    assert.equal(res.url, 'http://api.example.com/v1/items?page=2');
    assert.deepEqual(await res.json(), { items: [1, 2, 3] });
  } finally {
    await s.close();
  }
});

test('fetch: POST body matched by bodyJsonPath; Request objects work', async () => {
  const s = await strictSession([
    { method: 'POST', host: 'pay.example.com', path: '/charge', bodyJsonPath: '$.amount', equals: 42, response: { status: 201, body: 'paid' } },
  ]);
  try {
    await s.run(async () => {
      const ok = await fetch('http://pay.example.com/charge', { method: 'POST', body: JSON.stringify({ amount: 42 }) });
      assert.equal(ok.status, 201);
      assert.equal(await ok.text(), 'paid');
      const viaRequest = await fetch(new Request('http://pay.example.com/charge', { method: 'POST', body: JSON.stringify({ amount: 42 }) }));
      assert.equal(viaRequest.status, 201);
      const other = await fetch('http://pay.example.com/charge', { method: 'POST', body: JSON.stringify({ amount: 7 }) });
      assert.equal(other.status, 599);
    });
  } finally {
    await s.close();
  }
});

test('strict miss: the contract 599 response, stats, explanation and a warning naming the request', async () => {
  const loud = new Softprobe();
  const s = await loud.startSession({ mode: 'replay', policy: STRICT });
  await s.mockOutbound(ITEMS);
  try {
    let res;
    const warnings = await collectWarnings(async () => {
      res = await s.run(() => fetch('http://api.example.com/v1/itemz', { method: 'GET' }));
    });
    assert.equal(res.status, 599);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.equal(res.headers.get('x-softprobe-strict-miss'), '1');
    const body = await res.json();
    assert.deepEqual(Object.keys(body).sort(), ['error', 'requestFingerprint', 'sessionId']);
    assert.equal(body.error, 'strict policy blocked unmatched outbound');
    assert.equal(body.sessionId, s.id);
    assert.equal(body.requestFingerprint, softprobe.requestFingerprint('GET', 'api.example.com', '/v1/itemz', ''));
    assert.match(body.requestFingerprint, /^[0-9a-f]{16}$/);

    const stats = await s.getStats();
    assert.equal(stats.sessionId, s.id);
    assert.equal(stats.stats.strictMisses, 1);
    assert.equal(stats.stats.injectedSpans, 0); // a strict miss is not an injected answer (the reference's count)
    assert.equal(stats.stats.decisions, 1);
    const last = stats.stats.lastStrictMiss;
    assert.deepEqual([last.method, last.host, last.path], ['GET', 'api.example.com', '/v1/itemz']);
    assert.equal(last.requestFingerprint, body.requestFingerprint);
    assert.match(last.explanation, /path expected \/v1\/items/);

    const w = warnings.find((x) => x.code === 'SOFTPROBE_STRICT_MISS');
    assert.ok(w, 'a SOFTPROBE_STRICT_MISS warning');
    assert.match(w.message, /GET api\.example\.com\/v1\/itemz/);
    assert.match(w.message, /path expected \/v1\/items/);
  } finally {
    await s.close();
  }
});

test('http.get and http.request: mock with Node response semantics; a strict miss fails like the proxy', async () => {
  const s = await strictSession([
    ITEMS,
    { method: 'PUT', host: 'api.example.com', path: '/v1/items/1', headers: { 'x-token': 't1' }, response: { status: 204 } },
  ]);
  try {
    await s.run(async () => {
      const r = await request('http://api.example.com/v1/items', { get: true });
      assert.equal(r.status, 200);
      assert.equal(r.res.statusMessage, 'OK');
      assert.equal(r.headers['x-mocked'], 'yes');
      assert.deepEqual(r.res.rawHeaders, ['content-type', 'application/json', 'x-mocked', 'yes']);
      assert.deepEqual(JSON.parse(r.body), { items: [1, 2, 3] });

      const put = await request('http://api.example.com/v1/items/1', { method: 'PUT', headers: { 'X-Token': 't1' }, body: 'x' });
      assert.equal(put.status, 204);
      assert.equal(put.body, '');
      const noToken = await request('http://api.example.com/v1/items/1', { method: 'PUT', body: 'x' });
      assert.equal(noToken.status, 599);
      assert.equal(noToken.headers['x-softprobe-strict-miss'], '1');
      assert.equal(JSON.parse(noToken.body).sessionId, s.id);
    });
    assert.equal((await s.getStats()).stats.strictMisses, 1);
  } finally {
    await s.close();
  }
});

test('https.get: mocked and passthrough to a local TLS server', async () => {
  const upstream = await startTlsServer();
  const s = await sp.startSession({ mode: 'replay', policy: { externalHttp: 'strict', externalAllowlist: ['127.0.0.1'] } });
  await s.mockOutbound({ host: 'secure.example.com', path: '/token', response: { status: 200, body: 'mocked-tls' } });
  try {
    await s.run(async () => {
      const mocked = await request('https://secure.example.com/token', { get: true });
      assert.equal(mocked.status, 200);
      assert.equal(mocked.body, 'mocked-tls');
      assert.equal(mocked.res.socket.encrypted, true);
      const real = await request(`${upstream.url}/real`, { get: true, ca: TLS.cert });
      assert.equal(real.status, 200);
      assert.equal(JSON.parse(real.body).path, '/real');
      assert.equal(real.headers['x-upstream'], '1');
    });
    assert.equal(upstream.count, 1);
  } finally {
    await s.close();
    await upstream.close();
  }
});

test('undici.request: mock, strict miss and passthrough through the global dispatcher', async () => {
  const upstream = await startServer();
  const s = await sp.startSession({ mode: 'replay', policy: { externalHttp: 'strict', externalAllowlist: ['127.0.0.1'] } });
  await s.mockOutbound(ITEMS);
  try {
    await s.run(async () => {
      const r = await undici.request('http://api.example.com/v1/items');
      assert.equal(r.statusCode, 200);
      assert.equal(r.headers['x-mocked'], 'yes');
      assert.deepEqual(await r.body.json(), { items: [1, 2, 3] });
      const miss = await undici.request('http://api.example.com/nope', { method: 'POST', body: 'x' });
      assert.equal(miss.statusCode, 599);
      assert.equal(miss.headers['x-softprobe-strict-miss'], '1');
      await miss.body.text();
      const real = await undici.request(`${upstream.url}/through?q=1`, { method: 'POST', body: 'hello' });
      assert.equal(real.statusCode, 200);
      const echoed = await real.body.json();
      assert.deepEqual([echoed.method, echoed.path, echoed.query, echoed.body], ['POST', '/through', '?q=1', 'hello']);
    });
    assert.equal(upstream.count, 1);
  } finally {
    await s.close();
    await upstream.close();
  }
});

test('passthrough: allowlisted hosts reach the network, others are blocked; explicit passthrough rules win over strict', async () => {
  const upstream = await startServer();
  const other = await startServer();
  const s = await sp.startSession({
    mode: 'replay',
    policy: { externalHttp: 'strict', externalAllowlist: [upstream.host] },
  });
  try {
    await s.run(async () => {
      const ok = await fetch(`${upstream.url}/a`);
      assert.equal(ok.status, 200);
      assert.equal((await ok.json()).from, 'upstream');
      const viaHttp = await request(`${upstream.url}/b`, { get: true });
      assert.equal(JSON.parse(viaHttp.body).path, '/b');
      const blocked = await fetch(`${other.url}/c`);
      assert.equal(blocked.status, 599);
      await blocked.text();
      await s.mockOutbound({ host: other.host, action: 'passthrough', priority: 5 });
      const allowed = await fetch(`${other.url}/d`);
      assert.equal(allowed.status, 200);
      assert.equal((await allowed.json()).path, '/d');
    });
    assert.equal(upstream.count, 2);
    assert.equal(other.count, 1);
  } finally {
    await s.close();
    await upstream.close();
    await other.close();
  }
});

test('consume once: the rule answers one request, then the strict policy blocks and says why', async () => {
  const s = await strictSession([{ ...ITEMS, consume: 'once' }]);
  try {
    await s.run(async () => {
      const first = await fetch('http://api.example.com/v1/items');
      assert.equal(first.status, 200);
      await first.text();
      const second = await fetch('http://api.example.com/v1/items');
      assert.equal(second.status, 599);
      await second.text();
      const third = await request('http://api.example.com/v1/items', { get: true });
      assert.equal(third.status, 599);
    });
    const last = (await s.getStats()).stats.lastStrictMiss;
    assert.match(last.explanation, /consume-once and was already used/);
  } finally {
    await s.close();
  }
});

test('error action and latencyMs are honoured by every client', async () => {
  const s = await strictSession([
    { host: 'slow.example.com', latencyMs: 60, error: { status: 503, body: { error: 'down' } } },
  ]);
  try {
    await s.run(async () => {
      for (const call of [
        async () => {
          const r = await fetch('http://slow.example.com/x');
          return [r.status, await r.text()];
        },
        async () => {
          const r = await request('http://slow.example.com/x', { get: true });
          return [r.status, r.body];
        },
        async () => {
          const r = await undici.request('http://slow.example.com/x');
          return [r.statusCode, await r.body.text()];
        },
      ]) {
        const t0 = performance.now();
        const [status, body] = await call();
        const elapsed = performance.now() - t0;
        assert.equal(status, 503);
        assert.deepEqual(JSON.parse(body), { error: 'down' });
        assert.ok(elapsed >= 55, `latency honoured (${elapsed.toFixed(1)} ms)`);
      }
    });
  } finally {
    await s.close();
  }
});

test('a mocked redirect is followed by fetch and each hop is decided by the core', async () => {
  const s = await strictSession([
    { host: 'r.example.com', path: '/old', response: { status: 302, headers: { location: '/new' } } },
    { host: 'r.example.com', path: '/new', response: { status: 200, body: 'moved here' } },
  ]);
  try {
    const res = await s.run(() => fetch('http://r.example.com/old'));
    assert.equal(res.status, 200);
    assert.equal(res.redirected, true);
    assert.equal(res.url, 'http://r.example.com/new');
    assert.equal(await res.text(), 'moved here');
    const manual = await s.run(() => fetch('http://r.example.com/old', { redirect: 'manual' }));
    assert.equal(manual.status, 302);
    assert.equal((await s.getStats()).stats.injectedSpans, 3);
  } finally {
    await s.close();
  }
});

test('outside any session nothing is intercepted; activate() makes a session process-wide', async () => {
  const upstream = await startServer();
  const s = await strictSession([{ host: upstream.host, response: { status: 200, body: 'mocked' } }]);
  try {
    const direct = await fetch(`${upstream.url}/x`);
    assert.equal((await direct.json()).from, 'upstream');
    assert.equal(softprobe.currentSession(), null);
    s.activate();
    assert.equal(softprobe.currentSession(), s);
    const viaFetch = await fetch(`${upstream.url}/x`);
    assert.equal(await viaFetch.text(), 'mocked');
    const viaHttp = await request(`${upstream.url}/x`, { get: true });
    assert.equal(viaHttp.body, 'mocked');
    s.deactivate();
    const after = await request(`${upstream.url}/x`, { get: true });
    assert.equal(JSON.parse(after.body).from, 'upstream');
    assert.equal(upstream.count, 2);
  } finally {
    s.deactivate();
    await s.close();
    await upstream.close();
  }
});

test('a request made in run() after close() fails with a SoftprobeError instead of reaching the network', async () => {
  const s = await strictSession([ITEMS]);
  let release;
  const gate = new Promise((r) => (release = r));
  const pending = s.run(async () => {
    await gate;
    return fetch('http://api.example.com/v1/items');
  });
  await s.close();
  release();
  await assert.rejects(pending, (err) => err instanceof softprobe.SoftprobeError && /is closed/.test(err.message));
});

test('HEAD and null-body statuses get no body; the request fingerprint matches the core\'s', async () => {
  const s = await strictSession([
    { method: 'HEAD', host: 'h.example.com', response: { status: 200, headers: { 'x-len': '5' }, body: 'hello' } },
    { method: 'GET', host: 'h.example.com', path: '/empty', response: { status: 204, body: 'ignored' } },
  ]);
  try {
    await s.run(async () => {
      const head = await fetch('http://h.example.com/x', { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('x-len'), '5');
      assert.equal(await head.text(), '');
      const headHttp = await request('http://h.example.com/x', { method: 'HEAD' });
      assert.equal(headHttp.body, '');
      const empty = await fetch('http://h.example.com/empty');
      assert.equal(empty.status, 204);
      assert.equal(empty.body, null);
    });
  } finally {
    await s.close();
  }
});

test('worker threads load the addon and decide independently', async () => {
  const { Worker } = require('node:worker_threads');
  const code = `
    const { parentPort } = require('node:worker_threads');
    const { Softprobe } = require(${JSON.stringify(require.resolve('..'))});
    (async () => {
      const s = await new Softprobe({ warnOnStrictMiss: false }).startSession({ policy: { externalHttp: 'strict' } });
      await s.mockOutbound({ host: 'w.example.com', response: { status: 200, body: 'from worker' } });
      const out = [];
      for (let i = 0; i < 200; i++) out.push(await (await s.run(() => fetch('http://w.example.com/' + 'x'.repeat(i)))).text());
      await s.close();
      parentPort.postMessage(out.every((b) => b === 'from worker'));
    })();`;
  const workers = [0, 1].map(() => new Worker(code, { eval: true }));
  const main = await strictSession([{ host: 'w.example.com', response: { status: 200, body: 'from main' } }]);
  try {
    const mainOk = s_all(await Promise.all(Array.from({ length: 200 }, (_, i) => main.run(async () => (await fetch('http://w.example.com/' + 'y'.repeat(i))).text()))), 'from main');
    const results = await Promise.all(workers.map((w) => new Promise((res, rej) => w.once('message', res).once('error', rej))));
    assert.deepEqual(results, [true, true]);
    assert.ok(mainOk);
  } finally {
    await main.close();
    await Promise.all(workers.map((w) => w.terminate()));
  }
});

function s_all(list, v) {
  return list.every((x) => x === v);
}

test('a mocked fetch Response behaves like a network one (body stream, clone, bodyUsed, errors)', async () => {
  const s = await strictSession([
    { host: 'r.example.com', path: '/json', response: { status: 200, headers: { 'content-type': 'application/json' }, body: '{"a":1}' } },
    { host: 'r.example.com', path: '/bad', response: { status: 200, body: 'not json' } },
    { host: 'r.example.com', path: '/bin', response: { status: 200, headers: { 'content-type': 'application/octet-stream' }, bodyBase64: Buffer.from([0, 255, 1]).toString('base64') } },
  ]);
  try {
    await s.run(async () => {
      const r = await fetch('http://r.example.com/json');
      assert.ok(r instanceof Response);
      assert.equal(r.ok, true);
      assert.equal(r.bodyUsed, false);
      const copy = r.clone();
      assert.deepEqual(await r.json(), { a: 1 });
      assert.equal(r.bodyUsed, true);
      await assert.rejects(r.text(), TypeError);
      assert.throws(() => r.clone(), TypeError);
      assert.equal(copy.url, 'http://r.example.com/json');
      assert.equal(await copy.text(), '{"a":1}');

      const streamed = await fetch('http://r.example.com/json');
      const chunks = [];
      for await (const chunk of streamed.body) chunks.push(Buffer.from(chunk));
      assert.equal(Buffer.concat(chunks).toString(), '{"a":1}');
      assert.equal(streamed.bodyUsed, true);
      await assert.rejects(streamed.json(), TypeError);

      await assert.rejects((await fetch('http://r.example.com/bad')).json(), SyntaxError);
      const blob = await (await fetch('http://r.example.com/json')).blob();
      assert.equal(blob.type, 'application/json');
      assert.equal(await blob.text(), '{"a":1}');
      const bin = new Uint8Array(await (await fetch('http://r.example.com/bin')).arrayBuffer());
      assert.deepEqual([...bin], [0, 255, 1]);
      const viaNew = await new Response((await fetch('http://r.example.com/json')).body).text();
      assert.equal(viaNew, '{"a":1}');
    });
  } finally {
    await s.close();
  }
});

test('the global dispatcher answers handlers written for undici\'s new handler API too', async () => {
  const s = await strictSession([{ host: 'h2.example.com', response: { status: 201, headers: { 'x-a': '1' }, body: 'new-api' } }]);
  const DISPATCHER = Symbol.for('undici.globalDispatcher.1');
  try {
    const got = await s.run(
      () =>
        new Promise((resolve, reject) => {
          let status;
          let headers;
          const chunks = [];
          globalThis[DISPATCHER].dispatch(
            { origin: 'http://h2.example.com', path: '/x', method: 'GET', headers: {} },
            {
              onRequestStart() {},
              onResponseStart(controller, statusCode, hdrs) {
                status = statusCode;
                headers = hdrs;
              },
              onResponseData(controller, chunk) {
                chunks.push(chunk);
              },
              onResponseEnd() {
                resolve({ status, headers, body: Buffer.concat(chunks).toString() });
              },
              onResponseError(controller, err) {
                reject(err);
              },
            }
          );
        })
    );
    assert.deepEqual(got, { status: 201, headers: { 'x-a': '1' }, body: 'new-api' });
  } finally {
    await s.close();
  }
});

test('a mocked undici dispatch without latency is answered before dispatch() returns, as MockAgent answers', async () => {
  // No promise and no extra event-loop turn per mocked request (issue 15:
  // undici.request's cost); a latency still answers later.
  const s = await strictSession([
    { host: 'sync.example.com', path: '/now', response: { status: 200, body: 'now' } },
    { host: 'sync.example.com', path: '/later', response: { status: 200, body: 'later', latencyMs: 5 } },
  ]);
  const DISPATCHER = Symbol.for('undici.globalDispatcher.1');
  const dispatch = (path, events, done) =>
    globalThis[DISPATCHER].dispatch(
      { origin: 'http://sync.example.com', path, method: 'GET', headers: {} },
      {
        onConnect() {
          events.push('connect');
        },
        onHeaders(status) {
          events.push(`headers ${status}`);
          return true;
        },
        onData(chunk) {
          events.push(`data ${chunk}`);
          return true;
        },
        onComplete() {
          events.push('complete');
          done();
        },
        onError(err) {
          events.push(`error ${err.message}`);
          done();
        },
      }
    );
  try {
    await s.run(async () => {
      await new Promise((resolve) => setImmediate(resolve)); // a fresh turn of the event loop
      const now = [];
      const returned = dispatch('/now', now, () => {});
      assert.equal(returned, true);
      assert.deepEqual(now, ['connect', 'headers 200', 'data now', 'complete']);
      const later = [];
      await new Promise((resolve) => {
        dispatch('/later', later, resolve);
        assert.deepEqual(later, ['connect']);
      });
      assert.deepEqual(later, ['connect', 'headers 200', 'data later', 'complete']);
    });
  } finally {
    await s.close();
  }
});

test('a long run of mocked undici requests lets the event loop turn, so undici\'s deferred cleanup runs', async () => {
  // undici destroys a body read with .json() in a setImmediate: if mocked
  // answers never left the microtask queue, 20,000 sequential requests would
  // keep every request's handler, body stream and answer alive (about 2.5 KB
  // each) until the loop ended (issue 15).
  const v8 = require('node:v8');
  v8.setFlagsFromString('--expose-gc');
  const gc = require('node:vm').runInNewContext('gc');
  const s = await strictSession([{ host: 'loop.example.com', response: { status: 200, body: '{"ok":true}' } }]);
  try {
    await s.run(async () => {
      let turned = false;
      setImmediate(() => {
        turned = true;
      });
      for (let i = 0; i < 1000 && !turned; i++) await (await undici.request('http://loop.example.com/x')).body.json();
      assert.equal(turned, true, 'the event loop never turned during 1,000 mocked requests');

      const n = 20000;
      await new Promise((resolve) => setImmediate(resolve));
      gc();
      const before = process.memoryUsage().heapUsed;
      for (let i = 0; i < n; i++) assert.equal((await (await undici.request('http://loop.example.com/x')).body.json()).ok, true);
      gc(); // no turn of the event loop in between: what the loop itself kept
      const perRequest = (process.memoryUsage().heapUsed - before) / n;
      assert.ok(perRequest < 512, `${perRequest.toFixed(0)} bytes retained per mocked request over ${n} requests`);
    });
  } finally {
    await s.close();
  }
});

test('mocked undici answers do not wait on a faked global setImmediate (fake timers never advanced)', async () => {
  const s = await strictSession([{ host: 'fake.example.com', response: { status: 200, body: 'ok' } }]);
  const real = globalThis.setImmediate;
  let guard;
  try {
    await s.run(async () => {
      globalThis.setImmediate = () => ({ ref() {}, unref() {}, hasRef: () => false }); // never runs its callback
      const requests = (async () => {
        for (let i = 0; i < 200; i++) assert.equal(await (await undici.request('http://fake.example.com/x')).body.text(), 'ok');
        return 'done';
      })();
      const stalled = new Promise((resolve) => {
        guard = setTimeout(resolve, 10000, 'stalled');
      });
      assert.equal(await Promise.race([requests, stalled]), 'done');
    });
  } finally {
    clearTimeout(guard);
    globalThis.setImmediate = real;
    await s.close();
  }
});
