'use strict';
// Remote mode's calls as the event loop sees them, and the mapping of the
// core's remote errors to the package's classes, against local servers that
// play a runtime: one that accepts connections and never answers, and a
// scripted one that answers each control route as a test says.
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const {
  Softprobe,
  SoftprobeError,
  RuntimeError,
  RuntimeUnreachableError,
  UnknownSessionError,
  InvalidRuleError,
  CaseLoadError,
} = require('..');
const { startServer, request } = require('./support');

/** A TCP server that accepts and never answers. */
async function silentServer() {
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/**
 * A scripted runtime: POST /v1/sessions creates `fake-1`; every other route
 * ("POST rules", "GET stats", ...) answers what `routes[key]` says
 * ({status, body}), 'hang' (no answer), or 200 {} when unset.
 */
async function scriptedRuntime() {
  const routes = {};
  const seen = [];
  const server = await startServer((req, res, body) => {
    const path = req.url.split('?')[0];
    seen.push(`${req.method} ${path}`);
    if (req.method === 'POST' && path === '/v1/sessions') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ sessionId: 'fake-1', sessionRevision: 0 }));
      return;
    }
    const key = `${req.method} ${path.replace(/^\/v1\/sessions\/[^/]+\//, '')}`;
    const answer = routes[key];
    if (answer === 'hang') return;
    const { status = 200, body: out = {} } = answer || {};
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(typeof out === 'string' ? out : JSON.stringify(out));
  });
  return { ...server, routes, seen };
}

/** Resolves 'pending' if `promise` has not settled when a `ms` timer fires, else 'settled'. */
function stateAfter(promise, ms) {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true)
  );
  return new Promise((r) => setTimeout(() => r(settled ? 'settled' : 'pending'), ms));
}

test('a remote call to a runtime that never answers leaves the event loop free until its timeout', async () => {
  const silent = await silentServer();
  const upstream = await startServer();
  try {
    const sp = new Softprobe({ baseUrl: silent.url, timeoutMs: 1500 });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 20);
    let settled = false;
    const started = Date.now();
    const pending = sp.startSession({ mode: 'replay' }).finally(() => (settled = true));
    try {
      // Another request made meanwhile completes while the runtime call waits.
      const r = await request(`${upstream.url}/meanwhile`);
      assert.equal(JSON.parse(r.body).path, '/meanwhile');
      assert.equal(settled, false, 'the other request finished while the runtime call was still pending');
      await assert.rejects(pending, (err) => {
        assert.ok(err instanceof RuntimeUnreachableError, String(err));
        assert.equal(err.url, `${silent.url}/v1/sessions`);
        assert.match(err.details.cause, /timeout/i);
        assert.match(err.message, /could not be reached/);
        return true;
      });
    } finally {
      clearInterval(timer);
    }
    assert.ok(Date.now() - started >= 1400, 'the call waited for its timeout');
    assert.ok(ticks >= 10, `the 20 ms timer ran ${ticks} times while the call was pending`);
  } finally {
    await upstream.close();
    await silent.close();
  }
});

test('setters, stats and close of a remote session wait off the event loop; decisions stay local', async () => {
  const rt = await scriptedRuntime();
  const sp = new Softprobe({ baseUrl: rt.url, timeoutMs: 1000, warnOnStrictMiss: false });
  const s = await sp.startSession({ mode: 'replay', policy: { externalHttp: 'strict' } });
  try {
    assert.equal(s.id, 'fake-1');
    for (const route of ['POST rules/append', 'POST policy', 'GET stats', 'POST close']) rt.routes[route] = 'hang';

    const rule = s.mockOutbound({ host: 'a.example.com', response: { status: 200, body: 'a' } });
    assert.equal(await stateAfter(rule, 100), 'pending', 'mockOutbound waits for the runtime without blocking timers');
    // The mirror decides this process's requests meanwhile: the rule is not in force yet.
    const res = await s.run(() => fetch('http://a.example.com/'));
    assert.equal(res.status, 599);
    await assert.rejects(rule, RuntimeUnreachableError);
    assert.deepEqual((await s.dumpRules()).rules, [], 'a call the runtime did not take changes neither side');

    const policy = s.setPolicy({ externalHttp: 'allow' });
    assert.equal(await stateAfter(policy, 100), 'pending');
    await assert.rejects(policy, RuntimeUnreachableError);

    const stats = s.getStats();
    assert.equal(await stateAfter(stats, 100), 'pending');
    await assert.rejects(stats, RuntimeUnreachableError);

    const closing = s.close();
    assert.equal(await stateAfter(closing, 100), 'pending');
    await assert.rejects(closing, RuntimeUnreachableError);
    assert.equal(s.closed, false, 'a failed close can be called again');
  } finally {
    delete rt.routes['POST close'];
    const closed = await s.close();
    assert.deepEqual(closed, { sessionId: 'fake-1', closed: true });
    await rt.close();
  }
});

test("the runtime's refusals map to the package's errors, with status, url and the runtime's details", async () => {
  const rt = await scriptedRuntime();
  const sp = new Softprobe({ baseUrl: rt.url, warnOnStrictMiss: false });
  const s = await sp.startSession({ mode: 'replay' });
  const route = (r) => `${rt.url}/v1/sessions/fake-1/${r}`;
  try {
    // 400 on rules -> InvalidRuleError with the runtime's ruleIndex and field (the local check passed).
    // (mockOutbound appends: POST .../rules/append.)
    rt.routes['POST rules/append'] = {
      status: 400,
      body: { error: { code: 'invalid_rule', message: 'rules[0].when.host: refused here', details: { ruleIndex: 0, field: 'when.host' } } },
    };
    await assert.rejects(s.mockOutbound({ host: 'a.example.com', response: { status: 200 } }), (err) => {
      assert.ok(err instanceof InvalidRuleError, String(err));
      assert.equal(err.ruleIndex, 0);
      assert.equal(err.field, 'when.host');
      assert.equal(err.details.status, 400);
      assert.equal(err.details.url, route('rules/append'));
      assert.match(err.message, /refused here/);
      return true;
    });
    assert.deepEqual((await s.dumpRules()).rules, []);

    // 400 on policy -> SP_E_INVALID_POLICY.
    rt.routes['POST policy'] = { status: 400, body: { error: { code: 'invalid_policy', message: 'externalHttp: not here' } } };
    await assert.rejects(s.setPolicy({ externalHttp: 'strict' }), (err) => {
      assert.ok(err instanceof SoftprobeError);
      assert.equal(err.code, 'SP_E_INVALID_POLICY');
      assert.match(err.message, /not here/);
      return true;
    });

    // 400 on load-case -> CaseLoadError.
    rt.routes['POST load-case'] = { status: 400, body: { error: { code: 'invalid_case', message: '$.traces: refused' } } };
    await assert.rejects(s.loadCase({ version: '1.0.0', caseId: 'c', traces: [] }), (err) => {
      assert.ok(err instanceof CaseLoadError, String(err));
      assert.equal(err.code, 'SP_E_INVALID_CASE');
      assert.match(err.message, /\$\.traces: refused/);
      return true;
    });

    // 404 unknown_session -> UnknownSessionError with status, url and the id.
    rt.routes['GET stats'] = { status: 404, body: { error: { code: 'unknown_session', message: 'no such session' } } };
    await assert.rejects(s.getStats(), (err) => {
      assert.ok(err instanceof UnknownSessionError, String(err));
      assert.equal(err.status, 404);
      assert.equal(err.url, route('stats'));
      assert.equal(err.sessionId, 'fake-1');
      assert.match(err.message, /has no session fake-1/);
      return true;
    });

    // Another status -> RuntimeError with status, url and the runtime's message.
    rt.routes['POST fixtures/auth'] = { status: 503, body: { error: { code: 'overloaded', message: 'try later', details: { retryAfterMs: 5 } } } };
    await assert.rejects(s.setAuthFixtures({ tokens: [], cookies: [], metadata: {} }), (err) => {
      assert.ok(err instanceof RuntimeError, String(err));
      assert.ok(!(err instanceof RuntimeUnreachableError));
      assert.equal(err.status, 503);
      assert.equal(err.url, route('fixtures/auth'));
      assert.equal(err.details.retryAfterMs, 5);
      assert.match(err.message, /503.*try later/);
      return true;
    });

    // A 2xx that is not JSON -> RuntimeError naming it.
    rt.routes['GET state'] = { status: 200, body: 'hello, not json' };
    await assert.rejects(new Softprobe({ baseUrl: rt.url }).attach('other-id'), (err) => {
      assert.ok(err instanceof RuntimeError, String(err));
      assert.equal(err.status, 200);
      assert.match(err.message, /not JSON: hello, not json/);
      return true;
    });

    // A close the runtime refuses rejects and can be retried.
    rt.routes['POST close'] = { status: 500, body: { error: { code: 'internal_error', message: 'disk full' } } };
    await assert.rejects(s.close(), (err) => err instanceof RuntimeError && err.status === 500 && /disk full/.test(err.message));
    assert.equal(s.closed, false);
  } finally {
    delete rt.routes['POST close'];
    await s.close();
    await rt.close();
  }
  assert.ok(s.closed);
  // No control route was split or rebuilt by the package: the core called exactly these.
  assert.deepEqual(
    rt.seen.filter((x) => !x.startsWith('GET /v1/sessions/other-id')),
    [
      'POST /v1/sessions',
      'POST /v1/sessions/fake-1/rules/append',
      'POST /v1/sessions/fake-1/policy',
      'POST /v1/sessions/fake-1/load-case',
      'GET /v1/sessions/fake-1/stats',
      'POST /v1/sessions/fake-1/fixtures/auth',
      'POST /v1/sessions/fake-1/close',
      'POST /v1/sessions/fake-1/close',
    ]
  );
});

test('a capture the runtime did not take makes close() reject; close() again sends it', async () => {
  const rt = await scriptedRuntime();
  const upstream = await startServer();
  const sp = new Softprobe({ baseUrl: rt.url });
  const s = await sp.startSession({ mode: 'capture' });
  try {
    await s.run(() => request(`${upstream.url}/captured`));
    rt.routes['POST /v1/traces'] = { status: 200, body: { partialSuccess: { rejectedSpans: '1', errorMessage: 'over a limit' } } };
    await assert.rejects(s.close({ out: 'c.case.json' }), (err) => {
      // Reached and answered: a RuntimeError, not RuntimeUnreachableError.
      assert.ok(err instanceof RuntimeError && !(err instanceof RuntimeUnreachableError), String(err));
      assert.match(err.message, /did not take 1 captured span\(s\) of session fake-1: over a limit/);
      return true;
    });
    assert.equal(s.closed, false);
    rt.routes['POST /v1/traces'] = { status: 200, body: {} };
    rt.routes['POST close'] = { status: 200, body: { sessionId: 'fake-1', closed: true, capturePath: '/captures/c.case.json' } };
    assert.deepEqual(await s.close({ out: 'c.case.json' }), { sessionId: 'fake-1', closed: true, capturePath: '/captures/c.case.json' });
  } finally {
    await upstream.close();
    await rt.close();
  }
  // The kept trace was sent again, then the runtime's session closed once.
  assert.deepEqual(rt.seen.slice(1), ['POST /v1/traces', 'POST /v1/traces', 'POST /v1/sessions/fake-1/close']);
  const sent = rt.requests.filter((r) => r.url === '/v1/traces').map((r) => JSON.parse(r.body));
  assert.deepEqual(sent[1], sent[0]);
  const paths = sent[0].resourceSpans.flatMap((r) => r.scopeSpans.flatMap((x) => x.spans.map((span) => span.attributes.find((a) => a.key === 'url.path').value.stringValue)));
  assert.deepEqual(paths, ['/captured']);
  assert.equal(rt.requests.find((r) => r.url.startsWith('/v1/sessions/fake-1/close')).url, '/v1/sessions/fake-1/close?out=c.case.json');
});
