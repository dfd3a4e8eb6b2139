'use strict';
// Every error class, raised by the real thing (core, file system, runtime
// server, a dead port), with a message that says what to fix.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const http = require('node:http');
const softprobe = require('..');
const {
  Softprobe,
  SoftprobeError,
  RuntimeError,
  UnknownSessionError,
  RuntimeUnreachableError,
  CaseLookupError,
  CaseLoadError,
  InvalidRuleError,
  StrictMissError,
} = softprobe;
const { tmpDir, startRuntime, startServer } = require('./support');

const sp = new Softprobe({ warnOnStrictMiss: false });

function caseDoc(spans) {
  return {
    version: '1.0.0',
    caseId: 'errors',
    traces: [
      {
        resourceSpans: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'app' } }] },
            scopeSpans: [
              {
                spans: spans.map(([method, host, p, status], i) => ({
                  traceId: '0af7651916cd43dd8448eb211c80319c',
                  spanId: `b7ad6b71692033${String(i).padStart(2, '0')}`,
                  name: `HTTP ${method}`,
                  attributes: [
                    { key: 'sp.traffic.direction', value: { stringValue: 'outbound' } },
                    { key: 'http.request.method', value: { stringValue: method } },
                    { key: 'url.host', value: { stringValue: host } },
                    { key: 'url.path', value: { stringValue: p } },
                    { key: 'http.response.status_code', value: { intValue: String(status) } },
                    { key: 'http.response.body', value: { stringValue: `body ${i}` } },
                  ],
                })),
              },
            ],
          },
        ],
      },
    ],
  };
}

test('InvalidRuleError names the rule index and field; the previous rules stay in force', async () => {
  const s = await sp.startSession({ mode: 'replay', policy: { externalHttp: 'strict' } });
  try {
    await s.mockOutbound({ host: 'a.example.com', response: { status: 200, body: 'ok' } });
    await assert.rejects(s.mockOutbound({ hostt: 'typo.example.com', response: { status: 200 } }), (err) => {
      assert.ok(err instanceof InvalidRuleError);
      assert.ok(err instanceof SoftprobeError);
      assert.equal(err.ruleIndex, 0); // the index in the appended document: the rule given
      assert.equal(err.field, 'when.hostt');
      assert.match(err.message, /rules\[0\]\.when\.hostt: unknown key/);
      return true;
    });
    await assert.rejects(s.mockOutbound({ host: 'x', action: 'replay' }), (err) => {
      assert.ok(err instanceof InvalidRuleError);
      assert.match(err.message, /findInCase/, 'the deprecated replay action points to findInCase + mockOutbound');
      return true;
    });
    assert.equal((await s.dumpRules()).rules.length, 1);
    const res = await s.run(() => fetch('http://a.example.com/'));
    assert.equal(await res.text(), 'ok');
  } finally {
    await s.close();
  }
});

test('CaseLookupError lists the matching spans for zero and several matches', async () => {
  const s = await sp.startSession({ mode: 'replay' });
  try {
    await s.loadCase(caseDoc([['GET', 'api.example.com', '/a', 200], ['GET', 'api.example.com', '/b', 201], ['POST', 'api.example.com', '/a', 202]]));
    assert.equal(s.findInCase({ method: 'POST', path: '/a' }).response.status, 202);
    assert.throws(
      () => s.findInCase({ host: 'api.example.com', path: '/a' }),
      (err) => {
        assert.ok(err instanceof CaseLookupError);
        assert.equal(err.matches.length, 2);
        assert.deepEqual(err.matches.map((m) => m.method).sort(), ['GET', 'POST']);
        assert.match(err.message, /matched 2 spans; narrow the predicate/);
        return true;
      }
    );
    assert.throws(
      () => s.findInCase({ path: '/missing' }),
      (err) => err instanceof CaseLookupError && err.matches.length === 0 && /matched no span/.test(err.message)
    );
    assert.equal(s.findAllInCase({ host: 'api.example.com' }).length, 3);
    assert.deepEqual(s.findAllInCase({ path: '/none' }), []);
  } finally {
    await s.close();
  }
});

test('CaseLoadError carries the path for a missing file, bad JSON and a broken case', async () => {
  const s = await sp.startSession({ mode: 'replay' });
  const dir = tmpDir();
  try {
    const missing = path.join(dir, 'nope.case.json');
    await assert.rejects(s.loadCaseFromFile(missing), (err) => {
      assert.ok(err instanceof CaseLoadError);
      assert.equal(err.path, missing);
      assert.match(err.message, /nope\.case\.json/);
      return true;
    });
    const bad = path.join(dir, 'bad.case.json');
    fs.writeFileSync(bad, '{"version": "1.0.0", "caseId": ');
    await assert.rejects(s.loadCaseFromFile(bad), (err) => err instanceof CaseLoadError && err.path === bad && err.code === 'SP_E_INVALID_JSON');
    const noTraces = path.join(dir, 'notraces.case.json');
    fs.writeFileSync(noTraces, JSON.stringify({ version: '1.0.0', caseId: 'x' }));
    await assert.rejects(s.loadCaseFromFile(noTraces), (err) => err instanceof CaseLoadError && /traces/.test(err.message));
    await assert.rejects(s.loadCase({ version: '1.0.0' }), CaseLoadError);
  } finally {
    await s.close();
  }
});

test('UnknownSessionError for an id this process does not have', async () => {
  await assert.rejects(sp.attach('no-such-session'), (err) => {
    assert.ok(err instanceof UnknownSessionError);
    assert.equal(err.sessionId, 'no-such-session');
    assert.match(err.message, /startSession/);
    return true;
  });
});

test('StrictMissError from assertNoStrictMisses lists each blocked request with its explanation', async () => {
  const s = await sp.startSession({ mode: 'replay', policy: { externalHttp: 'strict' } });
  try {
    s.assertNoStrictMisses();
    await s.run(async () => (await fetch('http://nowhere.example.com/thing')).text());
    assert.throws(
      () => s.assertNoStrictMisses(),
      (err) => err instanceof StrictMissError && err.misses.length === 1 && /GET nowhere\.example\.com\/thing: no rule is loaded/.test(err.message)
    );
  } finally {
    await s.close();
  }
});

test('RuntimeUnreachableError when nothing listens at the runtime URL', async () => {
  const probe = await startServer();
  const deadUrl = probe.url;
  await probe.close();
  const remote = new Softprobe({ baseUrl: deadUrl });
  await assert.rejects(remote.startSession({ mode: 'replay' }), (err) => {
    assert.ok(err instanceof RuntimeUnreachableError);
    assert.equal(err.url, `${deadUrl}/v1/sessions`);
    assert.equal(err.status, undefined);
    // libcurl's words for ECONNREFUSED, from the core's runtime client.
    assert.equal(err.details.cause, "Couldn't connect to server");
    assert.match(err.message, new RegExp(`the runtime at ${deadUrl} could not be reached .*Couldn't connect to server`));
    assert.match(err.message, /SOFTPROBE_RUNTIME_URL/);
    return true;
  });
});

test('RuntimeError, UnknownSessionError and InvalidRuleError from the real softprobe-runtime', async () => {
  const rt = await startRuntime(['--token', 'sekret']);
  try {
    // No token: 401 -> RuntimeError with status, body and url.
    const noToken = new Softprobe({ baseUrl: rt.url, token: '' });
    await assert.rejects(noToken.startSession({ mode: 'replay' }), (err) => {
      assert.ok(err instanceof RuntimeError);
      assert.ok(!(err instanceof RuntimeUnreachableError));
      assert.equal(err.status, 401);
      assert.equal(err.url, `${rt.url}/v1/sessions`);
      // The runtime's message for missing_bearer_token, and what to do about it.
      assert.match(err.message, /401/);
      assert.match(err.message, /"Authorization: Bearer <token>" header/);
      assert.match(err.message, /SOFTPROBE_API_TOKEN/);
      assert.match(err.message, /\{ token \}/);
      return true;
    });
    const remote = new Softprobe({ baseUrl: rt.url, token: 'sekret', warnOnStrictMiss: false });
    await assert.rejects(remote.attach('0123456789abcdef0123456789abcdef'), (err) => {
      assert.ok(err instanceof UnknownSessionError);
      assert.equal(err.status, 404);
      assert.equal(err.sessionId, '0123456789abcdef0123456789abcdef');
      assert.equal(err.url, `${rt.url}/v1/sessions/0123456789abcdef0123456789abcdef/state`);
      return true;
    });
    const s = await remote.startSession({ mode: 'replay' });
    await assert.rejects(s.mockOutbound({ method: 'GET', pathh: '/x' }), (err) => err instanceof InvalidRuleError && err.field === 'when.pathh');
    await s.close();
  } finally {
    await rt.stop();
  }
});

test('RuntimeError for a server that is not a softprobe runtime', async () => {
  const notRuntime = await startServer((req, res) => {
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('boom');
  });
  try {
    await assert.rejects(new Softprobe({ baseUrl: notRuntime.url }).startSession(), (err) => {
      assert.ok(err instanceof RuntimeError);
      assert.equal(err.status, 500);
      assert.equal(err.url, `${notRuntime.url}/v1/sessions`);
      assert.match(err.message, /with 500: boom$/, 'the start of a body that is not JSON');
      return true;
    });
  } finally {
    await notRuntime.close();
  }
});

test('bad arguments are SoftprobeErrors that say what is expected', async () => {
  await assert.rejects(sp.startSession({ mode: 'record' }), (err) => err instanceof SoftprobeError && /'replay', 'capture' or 'generate'/.test(err.message));
  await assert.rejects(sp.startSession({ policy: { externalHttp: 'sometimes' } }), (err) => err instanceof SoftprobeError && err.code === 'SP_E_INVALID_POLICY');
  assert.throws(() => new Softprobe({ baseUrl: 'not a url' }), (err) => err instanceof SoftprobeError && err.code === 'SP_E_INVALID_ARGUMENT' && /runtime URL "not a url"/.test(err.message));
  assert.throws(() => new Softprobe({ baseUrl: 'ftp://127.0.0.1:1' }), (err) => err instanceof SoftprobeError && /must use http or https/.test(err.message));
  assert.throws(() => new Softprobe({ baseUrl: 'http://127.0.0.1:1', timeoutMs: -5 }), (err) => err instanceof SoftprobeError && /timeoutMs/.test(err.message));
  // The core's limits of a runtime URL and token, at the constructor (no call is made).
  assert.throws(() => new Softprobe({ baseUrl: `http://127.0.0.1:1/${'p'.repeat(2100)}` }), (err) => err instanceof SoftprobeError && /over the limit of 2048/.test(err.message));
  assert.throws(() => new Softprobe({ baseUrl: 'http://127.0.0.1:1', token: 't'.repeat(4097) }), (err) => err instanceof SoftprobeError && /over the limit of 4096/.test(err.message));
  assert.throws(() => new Softprobe({ baseUrl: 'http://127.0.0.1:1', token: 'a\r\nx: y' }), (err) => err instanceof SoftprobeError && /Authorization header/.test(err.message));
  const s = await sp.startSession();
  try {
    await assert.rejects(s.mockOutbound('GET /x'), TypeError);
  } finally {
    await s.close();
  }
  assert.equal(typeof http.request, 'function');
});
