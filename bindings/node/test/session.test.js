'use strict';
// The embedded session API: attach, rules, policy, fixtures, stats, close.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const softprobe = require('..');
const { Softprobe, SoftprobeSession } = softprobe;
const { tmpDir, request } = require('./support');

const sp = new Softprobe({ warnOnStrictMiss: false });

test('version and mode', () => {
  assert.match(softprobe.version, /^0\.\d+\.\d+$/);
  assert.equal(softprobe.specVersion, 'http-control-api@v1');
  assert.equal(sp.mode, 'embedded');
});

test('attach(id) returns the same core session (rules, stats) in this process', async () => {
  const s = await sp.startSession({ mode: 'replay', policy: { externalHttp: 'strict' } });
  try {
    assert.ok(s instanceof SoftprobeSession);
    assert.match(s.id, /^[0-9a-f]{32}$/);
    await s.mockOutbound({ name: 'one', host: 'a.example.com', response: { status: 200, body: 'a' } });
    const same = await sp.attach(s.id);
    assert.equal(same.id, s.id);
    assert.deepEqual((await same.dumpRules()).rules.map((r) => r.name), ['one']);
    await same.mockOutbound({ name: 'two', host: 'b.example.com', response: { status: 200, body: 'b' } });
    await s.run(async () => {
      assert.equal(await (await fetch('http://b.example.com/')).text(), 'b');
    });
    assert.equal((await s.getStats()).stats.injectedSpans, 1);
    assert.ok(sp.listSessions().some((x) => x.sessionId === s.id));
  } finally {
    await s.close();
  }
});

test('mockOutbound merges; clearRules empties; priorities decide between overlapping rules', async () => {
  const s = await sp.startSession({ mode: 'replay', policy: { externalHttp: 'strict' } });
  try {
    const rev0 = s.revision;
    await s.mockOutbound({ host: 'p.example.com', response: { status: 200, body: 'low' } });
    await s.mockOutbound({ host: 'p.example.com', path: '/x', priority: 10, response: { status: 200, body: 'high' } });
    await s.mockOutbound({ host: 'p.example.com', path: '/x', response: { status: 200, body: 'later-but-lower' } });
    assert.equal(s.revision, rev0 + 3);
    const doc = await s.dumpRules();
    assert.equal(doc.version, 1);
    assert.equal(doc.rules.length, 3);
    assert.deepEqual(doc.rules[1].when, { direction: 'outbound', host: 'p.example.com', path: '/x' });
    await s.run(async () => {
      assert.equal(await (await fetch('http://p.example.com/x')).text(), 'high');
      assert.equal(await (await fetch('http://p.example.com/y')).text(), 'low');
    });
    await s.clearRules();
    assert.deepEqual((await s.dumpRules()).rules, []);
    assert.equal((await s.run(() => fetch('http://p.example.com/x'))).status, 599);
  } finally {
    await s.close();
  }
});

test('setPolicy and setAuthFixtures replace the session\'s policy and fixtures', async () => {
  const s = await sp.startSession({ mode: 'replay' });
  try {
    // default policy allows: unmatched traffic would pass through; block a host instead
    await s.setPolicy({ externalHttp: 'allow', blockHosts: ['blocked.example.com'] });
    assert.equal((await s.run(() => fetch('http://blocked.example.com/'))).status, 599);
    await s.setPolicy({ defaultOnMiss: 'mock', defaultResponse: { status: 418, body: 'teapot' } });
    const r = await s.run(() => request('http://anything.example.com/', { get: true }));
    assert.deepEqual([r.status, r.body], [418, 'teapot']);
    await s.setAuthFixtures({ tokens: ['abc'], cookies: [], metadata: { user: 'u1' } });
  } finally {
    await s.close();
  }
});

test('consume-once holds under concurrent requests: exactly one is mocked', async () => {
  const s = await sp.startSession({ mode: 'replay', policy: { externalHttp: 'strict' } });
  await s.mockOutbound({ host: 'once.example.com', consume: 'once', response: { status: 200, body: 'only once' } });
  try {
    const statuses = await s.run(() =>
      Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          if (i % 2) return (await request('http://once.example.com/', { get: true })).status;
          const r = await fetch('http://once.example.com/');
          await r.text();
          return r.status;
        })
      )
    );
    assert.equal(statuses.filter((x) => x === 200).length, 1);
    assert.equal(statuses.filter((x) => x === 599).length, 19);
  } finally {
    await s.close();
  }
});

test('close(): capture written to out, or to SOFTPROBE_CAPTURE_CASE_PATH; replay writes nothing; twice is harmless', async () => {
  const dir = tmpDir();
  const replay = await sp.startSession({ mode: 'replay' });
  assert.deepEqual(await replay.close(), { sessionId: replay.id, closed: true });
  assert.deepEqual(await replay.close(), { sessionId: replay.id, closed: true });
  assert.equal(replay.closed, true);

  const saved = process.env.SOFTPROBE_CAPTURE_CASE_PATH;
  const envPath = path.join(dir, 'from-env.case.json');
  process.env.SOFTPROBE_CAPTURE_CASE_PATH = envPath;
  try {
    const cap = await sp.startSession({ mode: 'capture', caseId: 'env-case', suite: 'node' });
    const res = await cap.close();
    assert.equal(res.capturePath, envPath);
    const doc = JSON.parse(fs.readFileSync(envPath, 'utf8'));
    assert.equal(doc.caseId, 'env-case');
    assert.deepEqual(doc.traces, []);
  } finally {
    if (saved === undefined) delete process.env.SOFTPROBE_CAPTURE_CASE_PATH;
    else process.env.SOFTPROBE_CAPTURE_CASE_PATH = saved;
  }
});
