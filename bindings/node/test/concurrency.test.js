'use strict';
// Parallel tests in one process: each session bound by run() sees only its
// own rules and records only its own traffic, under Promise.all.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const undici = require('undici');
const { Softprobe } = require('..');
const { startServer, request, tmpDir } = require('./support');

const sp = new Softprobe({ warnOnStrictMiss: false });

test('concurrent replay sessions under Promise.all never see each other\'s rules', async () => {
  const N = 8;
  const sessions = await Promise.all(
    Array.from({ length: N }, async (_, i) => {
      const s = await sp.startSession({ mode: 'replay', policy: { externalHttp: 'strict' } });
      await s.mockOutbound({ host: 'shared.example.com', path: '/who', response: { status: 200, body: `session-${i}` } });
      if (i % 2 === 0) await s.mockOutbound({ host: 'shared.example.com', path: '/even', response: { status: 200, body: 'even' } });
      return s;
    })
  );
  try {
    const results = await Promise.all(
      sessions.map((s, i) =>
        s.run(async () => {
          const seen = [];
          for (let k = 0; k < 5; k++) {
            // interleave clients and yield between requests so contexts really overlap
            seen.push(await (await fetch('http://shared.example.com/who')).text());
            seen.push((await request('http://shared.example.com/who', { get: true })).body);
            seen.push(await (await undici.request('http://shared.example.com/who')).body.text());
            await new Promise((r) => setTimeout(r, Math.random() * 3));
          }
          const even = await fetch('http://shared.example.com/even');
          await even.text();
          return { i, seen, evenStatus: even.status };
        })
      )
    );
    for (const { i, seen, evenStatus } of results) {
      assert.deepEqual(new Set(seen), new Set([`session-${i}`]), `session ${i} saw only its own mock`);
      assert.equal(evenStatus, i % 2 === 0 ? 200 : 599);
    }
    for (const [i, s] of sessions.entries()) {
      const st = (await s.getStats()).stats;
      // injectedSpans counts mock and error answers only (as the reference runtime); decisions counts all.
      assert.equal(st.decisions, 16);
      assert.equal(st.strictMisses, i % 2 === 0 ? 0 : 1);
      assert.equal(st.injectedSpans, 16 - st.strictMisses);
    }
  } finally {
    await Promise.all(sessions.map((s) => s.close()));
  }
});

test('concurrent capture sessions record only their own requests', async () => {
  const upstream = await startServer();
  const dir = tmpDir();
  try {
    const sessions = await Promise.all([0, 1, 2].map(() => sp.startSession({ mode: 'capture' })));
    await Promise.all(
      sessions.map((s, i) =>
        s.run(async () => {
          for (let k = 0; k <= i; k++) {
            await (await fetch(`${upstream.url}/s${i}/fetch${k}`)).text();
            await request(`${upstream.url}/s${i}/http${k}`, { get: true });
          }
        })
      )
    );
    const files = await Promise.all(sessions.map((s, i) => s.close({ out: path.join(dir, `s${i}.case.json`) })));
    for (const [i, f] of files.entries()) {
      const doc = JSON.parse(fs.readFileSync(f.capturePath, 'utf8'));
      const paths = [];
      for (const t of doc.traces)
        for (const rs of t.resourceSpans)
          for (const ss of rs.scopeSpans)
            for (const sp2 of ss.spans) paths.push(sp2.attributes.find((a) => a.key === 'url.path').value.stringValue);
      assert.equal(paths.length, 2 * (i + 1));
      for (const p of paths) assert.ok(p.startsWith(`/s${i}/`), `${p} belongs to session ${i}`);
    }
    assert.equal(upstream.count, 2 * (1 + 2 + 3));
  } finally {
    await upstream.close();
  }
});
