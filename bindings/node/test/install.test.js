'use strict';
// The interceptors are installed on load, forward untouched without a
// session, and uninstall() restores every original.
const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const https = require('node:https');

const DISPATCHER = Symbol.for('undici.globalDispatcher.1');
const before = {
  fetch: globalThis.fetch,
  httpRequest: http.request,
  httpGet: http.get,
  httpsRequest: https.request,
  httpsGet: https.get,
  dispatcher: globalThis[DISPATCHER],
};

const softprobe = require('..');
const undici = require('undici');
const { startServer, request } = require('./support');

test('loading the package patches http, https, fetch and the global dispatcher', () => {
  assert.ok(softprobe.isInstalled());
  assert.notEqual(globalThis.fetch, before.fetch);
  assert.notEqual(http.request, before.httpRequest);
  assert.notEqual(http.get, before.httpGet);
  assert.notEqual(https.request, before.httpsRequest);
  assert.notEqual(https.get, before.httpsGet);
  assert.equal(globalThis[DISPATCHER].constructor.name, 'SoftprobeDispatcher');
});

test('uninstall() restores the originals; install() brings interception back', async () => {
  const upstream = await startServer();
  const sp = new softprobe.Softprobe({ warnOnStrictMiss: false });
  const s = await sp.startSession({ mode: 'replay', policy: { externalHttp: 'strict' } });
  await s.mockOutbound({ host: upstream.host, response: { status: 200, body: 'mocked' } });
  try {
    softprobe.uninstall();
    assert.equal(softprobe.isInstalled(), false);
    assert.equal(globalThis.fetch, before.fetch);
    assert.equal(http.request, before.httpRequest);
    assert.equal(http.get, before.httpGet);
    assert.equal(https.request, before.httpsRequest);
    assert.equal(https.get, before.httpsGet);
    if (before.dispatcher !== undefined) assert.equal(globalThis[DISPATCHER], before.dispatcher);
    else assert.equal(typeof globalThis[DISPATCHER].dispatch, 'function'); // a plain Agent, not ours
    assert.notEqual(globalThis[DISPATCHER].constructor.name, 'SoftprobeDispatcher');
    await s.run(async () => {
      assert.equal((await (await fetch(`${upstream.url}/a`)).json()).from, 'upstream');
      assert.equal(JSON.parse((await request(`${upstream.url}/b`, { get: true })).body).from, 'upstream');
      assert.equal((await (await undici.request(`${upstream.url}/c`)).body.json()).from, 'upstream');
    });
    assert.equal(upstream.count, 3);

    softprobe.install();
    await s.run(async () => {
      assert.equal(await (await fetch(`${upstream.url}/a`)).text(), 'mocked');
      assert.equal((await request(`${upstream.url}/b`, { get: true })).body, 'mocked');
      assert.equal(await (await undici.request(`${upstream.url}/c`)).body.text(), 'mocked');
    });
    assert.equal(upstream.count, 3);
  } finally {
    softprobe.install();
    await s.close();
    await upstream.close();
  }
});

test('install() re-wraps a global dispatcher the application replaced with setGlobalDispatcher', async () => {
  const agent = new undici.Agent();
  undici.setGlobalDispatcher(agent);
  const sp = new softprobe.Softprobe({ warnOnStrictMiss: false });
  const s = await sp.startSession({ mode: 'replay', policy: { externalHttp: 'strict' } });
  try {
    const lost = await s.run(() => undici.request('http://api.example.com/x').catch((e) => e));
    assert.ok(lost instanceof Error, 'with its own Agent the application bypasses interception (documented limit)');
    softprobe.install();
    const res = await s.run(() => undici.request('http://api.example.com/x'));
    assert.equal(res.statusCode, 599);
    await res.body.text();
  } finally {
    await s.close();
    await agent.close();
  }
});
