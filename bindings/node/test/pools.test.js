'use strict';
// Connections and pools opened before a session (issue 12): a keep-alive
// connection a client opened earlier must not carry a strict session's
// request to the network, and must work normally again after the session.
const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const undici = require('undici');
const { Softprobe } = require('..');
const path = require('node:path');
const { startServer, tmpDir } = require('./support');

const sp = new Softprobe({ warnOnStrictMiss: false });
const STRICT = { externalHttp: 'strict' };

function get(url, agent) {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      })
      .on('error', reject);
  });
}

test('http.Agent keep-alive connection opened before a strict session: decided per request, never reused undecided', async () => {
  const upstream = await startServer();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    assert.equal((await get(`${upstream.url}/before`, agent)).status, 200);
    assert.equal(upstream.count, 1);
    const s = await sp.startSession({ mode: 'replay', policy: STRICT });
    try {
      await s.run(async () => {
        const r = await get(`${upstream.url}/during`, agent);
        assert.equal(r.status, 599);
      });
    } finally {
      await s.close();
    }
    assert.equal(upstream.count, 1); // the pooled socket carried nothing
    assert.equal((await get(`${upstream.url}/after`, agent)).status, 200);
    assert.equal(upstream.count, 2);
  } finally {
    agent.destroy();
    await upstream.close();
  }
});

test('fetch and undici.request with connections pooled before a strict session: decided per request', async () => {
  const upstream = await startServer();
  try {
    assert.equal((await fetch(`${upstream.url}/before-fetch`)).status, 200);
    const pre = await undici.request(`${upstream.url}/before-undici`);
    await pre.body.text();
    assert.equal(upstream.count, 2);
    const s = await sp.startSession({ mode: 'replay', policy: STRICT });
    try {
      await s.run(async () => {
        const f = await fetch(`${upstream.url}/during-fetch`);
        assert.equal(f.status, 599);
        await f.text();
        const u = await undici.request(`${upstream.url}/during-undici`);
        assert.equal(u.statusCode, 599);
        await u.body.text();
      });
    } finally {
      await s.close();
    }
    assert.equal(upstream.count, 2);
    assert.equal((await fetch(`${upstream.url}/after`)).status, 200);
    assert.equal(upstream.count, 3);
  } finally {
    await upstream.close();
  }
});

test('capture through a keep-alive connection opened before the session records every request', async () => {
  const upstream = await startServer();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    await get(`${upstream.url}/warm`, agent);
    const s = await sp.startSession({ mode: 'capture' });
    try {
      await s.run(async () => {
        await get(`${upstream.url}/one`, agent);
        await get(`${upstream.url}/two`, agent);
      });
      assert.equal((await s.getStats()).stats.extractedSpans, 2);
    } finally {
      await s.close({ out: path.join(tmpDir(), 'pools.case.json') });
    }
    assert.equal(upstream.count, 3);
  } finally {
    agent.destroy();
    await upstream.close();
  }
});
