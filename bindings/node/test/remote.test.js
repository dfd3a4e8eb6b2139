'use strict';
// Remote-runtime mode against the real softprobe-runtime binary: the core's
// remote store sends the control calls to the runtime, a local mirror (same
// id, rules, policy, case) answers this process's requests, and the calls to
// the runtime (libcurl, in the core) are never intercepted.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Softprobe, UnknownSessionError, withoutInterception } = require('..');
const { startRuntime, startServer, request, tmpDir } = require('./support');

let rt;
const captureDir = tmpDir();
test.before(async () => {
  // Captures are written only inside --capture-dir; ?out= is relative to it.
  rt = await startRuntime(['--capture-dir', captureDir]);
});
test.after(async () => {
  if (rt) await rt.stop();
});

/** A control call that bypasses the package (plain http outside any session). */
async function raw(method, path, body) {
  const r = await withoutInterception(() => request(rt.url + path, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { 'content-type': 'application/json' } }));
  return { status: r.status, json: r.body ? JSON.parse(r.body) : null };
}

function injectPayload(sessionId, method, host, path) {
  const attrs = {
    'sp.span.type': 'inject',
    'sp.session.id': sessionId,
    'sp.traffic.direction': 'outbound',
    'http.request.method': method,
    'url.host': host,
    'url.path': path,
  };
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'proxy-side' } }] },
        scopeSpans: [
          {
            spans: [
              {
                traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
                spanId: '00f067aa0ba902b7',
                name: `HTTP ${method}`,
                attributes: Object.entries(attrs).map(([key, v]) => ({ key, value: { stringValue: v } })),
              },
            ],
          },
        ],
      },
    ],
  };
}

const CASE = {
  version: '1.0.0',
  caseId: 'remote-case',
  traces: [
    {
      resourceSpans: [
        {
          resource: { attributes: [] },
          scopeSpans: [
            {
              spans: [
                {
                  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
                  spanId: '00f067aa0ba902b8',
                  attributes: [
                    { key: 'sp.traffic.direction', value: { stringValue: 'outbound' } },
                    { key: 'http.request.method', value: { stringValue: 'GET' } },
                    { key: 'url.host', value: { stringValue: 'fragments.example.com' } },
                    { key: 'url.path', value: { stringValue: '/fragment' } },
                    { key: 'http.response.status_code', value: { intValue: '200' } },
                    { key: 'http.response.body', value: { stringValue: '{"dep":"ok"}' } },
                  ],
                },
              ],
            },
          ],
        },
      ],
    },
  ],
};

test('a remote session: same id, rules, policy and case on the runtime and in process', async () => {
  const sp = new Softprobe({ baseUrl: rt.url, warnOnStrictMiss: false });
  assert.equal(sp.mode, 'remote');
  const s = await sp.startSession({ mode: 'replay', policy: { externalHttp: 'strict' } });
  try {
    const listed = await raw('GET', '/v1/sessions');
    assert.ok(listed.json.sessions.some((x) => x.sessionId === s.id), 'the runtime created the session');
    assert.ok(sp.listSessions().some((x) => x.sessionId === s.id), 'the local mirror has the same id');

    // Make the session process-wide and strict: had the package's own control
    // calls been intercepted, they would have been answered with 599.
    s.activate();
    await s.mockOutbound({ method: 'GET', host: 'api.example.com', path: '/v1/price', response: { status: 200, body: { price: 7 } } });
    await s.loadCase(CASE);
    const hit = s.findInCase({ path: '/fragment' });
    assert.equal(hit.response.body, '{"dep":"ok"}');
    await s.mockOutbound({ path: '/fragment', response: hit.response });
    await s.setAuthFixtures({ tokens: ['t'], cookies: [], metadata: {} });

    const rules = await raw('GET', `/v1/sessions/${s.id}/rules`);
    assert.equal(rules.json.rules.length, 2);
    assert.deepEqual(await s.dumpRules(), rules.json);
    const state = await raw('GET', `/v1/sessions/${s.id}/state`);
    assert.equal(state.json.caseSummary.caseId, 'remote-case');
    assert.equal(state.json.policy.externalHttp, 'strict');

    // In-process requests are decided by the local mirror.
    const price = await fetch('http://api.example.com/v1/price');
    assert.deepEqual(await price.json(), { price: 7 });
    const frag = await request('http://fragments.example.com/fragment', { get: true });
    assert.equal(frag.body, '{"dep":"ok"}');
    const miss = await fetch('http://api.example.com/other');
    assert.equal(miss.status, 599);
    assert.equal((await miss.json()).sessionId, s.id);

    // The runtime answers a proxy's inject call with the same rules.
    s.deactivate();
    const inj = await raw('POST', '/v1/inject', injectPayload(s.id, 'GET', 'api.example.com', '/v1/price'));
    assert.equal(inj.status, 200);
    const attrs = inj.json.resourceSpans[0].scopeSpans[0].spans[0].attributes;
    const body = attrs.find((a) => a.key === 'http.response.body').value.stringValue;
    assert.deepEqual(JSON.parse(body), { price: 7 });

    // Policy changes reach both sides.
    await s.setPolicy({ externalHttp: 'allow' });
    assert.equal((await raw('GET', `/v1/sessions/${s.id}/state`)).json.policy.externalHttp, 'allow');

    const stats = await s.getStats();
    assert.equal(stats.sessionId, s.id);
    assert.equal(stats.sources.local.stats.strictMisses, 1);
    assert.equal(stats.sources.runtime.stats.injectedSpans, 1);
    assert.equal(stats.stats.injectedSpans, 3); // answers only: the strict miss is counted apart
    assert.equal(stats.stats.decisions, 4);
    assert.equal(stats.stats.strictMisses, 1);

    // Another client attaches by id and sees the same rules.
    const other = await new Softprobe({ baseUrl: rt.url }).attach(s.id);
    assert.equal(other.id, s.id);
    assert.equal((await other.dumpRules()).rules.length, 2);

    await s.clearRules();
    assert.equal((await raw('GET', `/v1/sessions/${s.id}/rules`)).json.rules.length, 0);
  } finally {
    s.deactivate();
    await s.close();
  }
  assert.ok(!(await raw('GET', '/v1/sessions')).json.sessions.some((x) => x.sessionId === s.id), 'closed on the runtime');
  assert.ok(!sp.listSessions().some((x) => x.sessionId === s.id), 'closed locally');
  await assert.rejects(sp.attach(s.id), UnknownSessionError);
  // Stats of a closed remote session are asked of the runtime, which no longer has it.
  await assert.rejects(s.getStats(), (err) => err instanceof UnknownSessionError && err.status === 404 && err.sessionId === s.id);
});

test('SOFTPROBE_RUNTIME_URL selects remote mode; without it the session is embedded', async () => {
  const saved = process.env.SOFTPROBE_RUNTIME_URL;
  try {
    delete process.env.SOFTPROBE_RUNTIME_URL;
    assert.equal(new Softprobe().mode, 'embedded');
    process.env.SOFTPROBE_RUNTIME_URL = rt.url;
    const sp = new Softprobe();
    assert.equal(sp.mode, 'remote');
    const s = await sp.startSession({ mode: 'replay' });
    assert.ok((await raw('GET', '/v1/sessions')).json.sessions.some((x) => x.sessionId === s.id));
    await s.close();
  } finally {
    if (saved === undefined) delete process.env.SOFTPROBE_RUNTIME_URL;
    else process.env.SOFTPROBE_RUNTIME_URL = saved;
  }
});

test('a rejected remote rule leaves the local mirror unchanged', async () => {
  const upstream = await startServer();
  const sp = new Softprobe({ baseUrl: rt.url, warnOnStrictMiss: false });
  const s = await sp.startSession({ mode: 'replay', policy: { externalHttp: 'strict', externalAllowlist: ['127.0.0.1'] } });
  try {
    await s.mockOutbound({ host: 'a.example.com', response: { status: 200, body: 'a' } });
    await assert.rejects(s.mockOutbound({ host: 'b.example.com', response: { status: 'two hundred' } }));
    assert.equal((await s.dumpRules()).rules.length, 1);
    await s.run(async () => {
      assert.equal(await (await fetch('http://a.example.com/')).text(), 'a');
      assert.equal((await fetch('http://b.example.com/')).status, 599);
      assert.equal((await (await fetch(`${upstream.url}/x`)).json()).from, 'upstream');
    });
  } finally {
    await s.close();
    await upstream.close();
  }
});

test('concurrent mockOutbound calls on a remote session keep every rule on both sides', async () => {
  const sp = new Softprobe({ baseUrl: rt.url });
  const s = await sp.startSession({ mode: 'replay' });
  try {
    await Promise.all(Array.from({ length: 6 }, (_, i) => s.mockOutbound({ name: `r${i}`, path: `/r${i}`, response: { status: 200 } })));
    const remoteRules = (await raw('GET', `/v1/sessions/${s.id}/rules`)).json.rules;
    assert.deepEqual(remoteRules.map((r) => r.name).sort(), ['r0', 'r1', 'r2', 'r3', 'r4', 'r5']);
    // the local mirror agrees
    assert.equal(JSON.parse(require('../lib/native').sessionGetRules(s._handle)).rules.length, 6);
  } finally {
    await s.close();
  }
});

test('remote capture: in-process exchanges are sent to the runtime, which writes one case on close', async () => {
  const fs = require('node:fs');
  const path = require('node:path');
  const upstream = await startServer();
  const out = 'remote.case.json'; // relative to the runtime's --capture-dir
  const sp = new Softprobe({ baseUrl: rt.url });
  const s = await sp.startSession({ mode: 'capture', caseId: 'remote-capture' });
  let closed;
  try {
    await s.run(async () => {
      await (await fetch(`${upstream.url}/captured/fetch`)).text();
      await request(`${upstream.url}/captured/http`, { get: true });
    });
  } finally {
    closed = await s.close({ out });
    await upstream.close();
  }
  assert.equal(path.resolve(captureDir, closed.capturePath), path.join(captureDir, out));
  const doc = JSON.parse(fs.readFileSync(path.join(captureDir, out), 'utf8'));
  const paths = [];
  for (const t of doc.traces)
    for (const r of t.resourceSpans)
      for (const ss of r.scopeSpans) for (const span of ss.spans) paths.push(span.attributes.find((a) => a.key === 'url.path').value.stringValue);
  assert.deepEqual(paths.sort(), ['/captured/fetch', '/captured/http']);
});

// Regression: the core's stats merge (RemoteSession::merge_stats) read ruleHits as an object
// keyed by rule, but sessions report it as an array of {layer, index, name?, id?, hits}: the
// merged ruleHits came back as {}.
test('remote getStats sums each rule\'s hits from the runtime and the mirror', async () => {
  const sp = new Softprobe({ baseUrl: rt.url });
  const s = await sp.startSession({ mode: 'replay' });
  try {
    await s.mockOutbound({ name: 'price', method: 'GET', host: 'api.example.com', path: '/v1/price', response: { status: 200, body: 'p' } });
    await s.run(() => fetch('http://api.example.com/v1/price'));
    assert.equal((await raw('POST', '/v1/inject', injectPayload(s.id, 'GET', 'api.example.com', '/v1/price'))).status, 200);
    const stats = await s.getStats();
    assert.equal(stats.sources.local.stats.ruleHits[0].hits, 1);
    assert.equal(stats.sources.runtime.stats.ruleHits[0].hits, 1);
    assert.ok(Array.isArray(stats.stats.ruleHits), `merged ruleHits is ${JSON.stringify(stats.stats.ruleHits)}`);
    assert.equal(stats.stats.ruleHits[0].name, 'price');
    assert.equal(stats.stats.ruleHits[0].hits, 2);
  } finally {
    await s.close();
  }
});

// Regression: a session whose rules another client posted as a bare array (the CLI's
// `session rules apply` of a list, or one rule on its own) attached with no rules, so the next
// mockOutbound replaced them with its own. The core now gives the rules as one document.
test('attach to rules posted as a bare array by another client, then mockOutbound appends', async () => {
  const created = await raw('POST', '/v1/sessions', { mode: 'replay' });
  const id = created.json.sessionId;
  const posted = [{ id: 'cli-rule', when: { path: '/cli' }, then: { action: 'mock', response: { status: 200, body: 'cli' } } }];
  assert.equal((await raw('POST', `/v1/sessions/${id}/rules`, posted)).status, 200);
  const s = await new Softprobe({ baseUrl: rt.url }).attach(id);
  try {
    await s.mockOutbound({ path: '/sdk', response: { status: 200, body: 'sdk' } });
    const rules = (await raw('GET', `/v1/sessions/${id}/rules`)).json;
    assert.deepEqual(rules.rules.map((r) => r.id || r.when.path), ['cli-rule', '/sdk']);
  } finally {
    await s.close();
  }
});
