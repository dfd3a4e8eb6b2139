'use strict';
// The client x behaviour matrix (issue 12): every supported client, against a
// real local server, through capture (live), offline strict replay of the
// case it wrote, and strict misses; plus redirects, HEAD, repeated
// Set-Cookie, gzip, chunked streaming, timeouts on mocked latency and a 1 MiB
// binary body. Each check compares what the application saw live with what it
// sees on replay. The results are written to test/client-matrix.json, which
// scripts/client-table.js renders into docs/node.md.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const zlib = require('node:zlib');
const { Softprobe } = require('..');
const { startServer, startTlsServer, tmpDir } = require('./support');
const { clients } = require('./clients');

const sp = new Softprobe({ warnOnStrictMiss: false });
const BINARY = crypto.randomBytes(1024 * 1024);
const GZ = zlib.gzipSync('zipped text, decoded by clients that decode');
const HEAD_LENGTH = 90;
const LATENCY = 800; // mocked latency on replay
const SLOW = 2500; // the live slow server (undici's headersTimeout runs on ~0.5 s timer ticks)
const TIMEOUT = 200;

/** Behaviours, in table order: key -> column title and what is checked (rendered into the docs). */
const BEHAVIOURS = {
  replay: ['capture -> strict replay', 'status, body, content-type and a custom header replay as captured'],
  strict: ['strict miss', 'an unmocked request is answered 599 with x-softprobe-strict-miss'],
  redirect: ['redirect', 'capture records each hop; replay shows the same status, url, redirected flag and body'],
  head: ['HEAD', 'content-length of a HEAD response replays as the server sent it'],
  cookies: ['Set-Cookie x2', 'two Set-Cookie lines stay two, captured and from a mock rule with an array'],
  gzip: ['gzip', 'content-encoding, content-length and body replay as the client showed them live'],
  stream: ['streaming', 'capture hands over the first chunk before the server sends the second; replay body equal'],
  timeout: ['timeout', "the client's own timeout fires on mocked latency with the same error as on a slow server"],
  binary: ['1 MiB binary', 'a 1 MiB random body replays byte for byte'],
};
const TIMEOUT_OPTION = {
  fetch: 'AbortSignal.timeout()',
  'http.request': 'timeout option',
  'https.request': 'timeout option',
  'undici.request': 'headersTimeout',
  axios: 'timeout',
  got: 'timeout',
  'node-fetch': 'timeout',
  superagent: '.timeout()',
  ky: 'timeout',
};

const results = {};

function handler(state) {
  return (req, res) => {
    const p = req.url.split('?')[0];
    if (p === '/json') {
      res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': '1' });
      res.end(JSON.stringify({ from: 'upstream', n: ++state.n }));
    } else if (p === '/redirect') {
      res.writeHead(302, { location: '/target', 'content-type': 'text/plain' });
      res.end('moved');
    } else if (p === '/target') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('target body');
    } else if (p === '/head') {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': HEAD_LENGTH });
      res.end(req.method === 'HEAD' ? undefined : 'x'.repeat(HEAD_LENGTH));
    } else if (p === '/cookies') {
      res.writeHead(200, { 'content-type': 'text/plain', 'set-cookie': ['a=1; Path=/', 'b=2; Path=/'] });
      res.end('cookies');
    } else if (p === '/gzip') {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip', 'content-length': GZ.length });
      res.end(GZ);
    } else if (p === '/stream') {
      res.writeHead(200, { 'content-type': 'text/plain' }); // chunked
      res.write('first chunk\n');
      // The second chunk waits until the client has the first (or 2 s).
      const wait = new Promise((r) => {
        state.release = r;
        setTimeout(r, 2000);
      });
      wait.then(() => {
        state.secondSent = true;
        res.end('second chunk\n');
      });
    } else if (p === '/slow') {
      setTimeout(() => res.end('late'), SLOW);
    } else if (p === '/binary') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BINARY.length });
      res.end(BINARY);
    } else {
      res.writeHead(404);
      res.end();
    }
  };
}

async function attempt(fn) {
  try {
    return { value: await fn() };
  } catch (err) {
    return { error: err };
  }
}
function value(r) {
  if (r.error) throw r.error;
  return r.value;
}

/** What one run (live or replay) of every behaviour showed the application. */
async function observe(client, base, state, phase) {
  const o = {};
  o.replay = await attempt(() => client.send(`${base}/json`));
  o.redirect = await attempt(() => client.send(`${base}/redirect`));
  o.head = await attempt(() => client.send(`${base}/head`, { method: 'HEAD' }));
  o.cookies = await attempt(() => client.send(`${base}/cookies`));
  o.gzip = await attempt(() => client.send(`${base}/gzip`));
  o.binary = await attempt(() => client.send(`${base}/binary`));
  o.stream = await attempt(async () => {
    state.secondSent = false;
    let firstBeforeSecond = null;
    const body = await client.stream(`${base}/stream`, () => {
      firstBeforeSecond = !state.secondSent;
      if (state.release) state.release();
    });
    return { body: body.toString(), firstBeforeSecond };
  });
  o.timeout = await attempt(async () => {
    const t0 = Date.now();
    const error = await client.timeout(`${base}/slow`, TIMEOUT);
    return { error, ms: Date.now() - t0 };
  });
  if (phase === 'replay') {
    o.strict = await attempt(() => client.send(`${base}/never/recorded`));
    o.mockCookies = await attempt(() => client.send(`${base}/mock-cookies`));
  }
  return o;
}

function pick(r, ...names) {
  const out = { status: r.status };
  for (const n of names) out[n] = r.headers[n];
  return out;
}

const CHECKS = {
  replay: (live, rep) => {
    const l = value(live.replay);
    const r = value(rep.replay);
    assert.equal(l.status, 200);
    assert.deepEqual(pick(r, 'content-type', 'x-upstream'), pick(l, 'content-type', 'x-upstream'));
    assert.deepEqual(JSON.parse(r.body), JSON.parse(l.body));
  },
  strict: (live, rep) => {
    const r = value(rep.strict);
    assert.equal(r.status, 599);
    assert.equal(r.headers['x-softprobe-strict-miss'], '1');
  },
  redirect: (live, rep, { client, spans }) => {
    const l = value(live.redirect);
    const r = value(rep.redirect);
    const seen = (x) => ({ status: x.status, url: x.url, redirected: x.redirected, location: x.headers.location, body: x.body.toString() });
    assert.deepEqual(seen(r), seen(l));
    assert.equal(l.status, client.follows ? 200 : 302);
    const hops = spans.filter((s) => s.path === '/redirect' || s.path === '/target').map((s) => `${s.path} ${s.status}`);
    assert.deepEqual(hops, client.follows ? ['/redirect 302', '/target 200'] : ['/redirect 302']);
  },
  head: (live, rep) => {
    const l = value(live.head);
    const r = value(rep.head);
    assert.equal(l.headers['content-length'], String(HEAD_LENGTH));
    assert.deepEqual(pick(r, 'content-length'), pick(l, 'content-length'));
    assert.equal(r.body.length, 0);
  },
  cookies: (live, rep) => {
    const l = value(live.cookies);
    assert.deepEqual(l.setCookie, ['a=1; Path=/', 'b=2; Path=/']);
    assert.deepEqual(value(rep.cookies).setCookie, l.setCookie);
    assert.deepEqual(value(rep.mockCookies).setCookie, ['a=1', 'b=2']);
  },
  gzip: (live, rep, { note }) => {
    const l = value(live.gzip);
    const r = value(rep.gzip);
    assert.deepEqual(pick(r, 'content-encoding', 'content-length'), pick(l, 'content-encoding', 'content-length'));
    assert.deepEqual(r.body, l.body);
    note(`${l.headers['content-encoding'] ? 'content-encoding: gzip' : 'no content-encoding'}, ${l.body.equals(GZ) ? 'raw gzip body' : 'decoded body'}`);
  },
  stream: (live, rep) => {
    const l = value(live.stream);
    assert.equal(l.body, 'first chunk\nsecond chunk\n');
    assert.equal(l.firstBeforeSecond, true, 'capture delivered the first chunk only after the server sent the second');
    assert.equal(value(rep.stream).body, l.body);
  },
  timeout: (live, rep, { name, note }) => {
    const l = value(live.timeout);
    const r = value(rep.timeout);
    assert.notEqual(l.error, 'no error');
    assert.equal(r.error, l.error);
    assert.ok(r.ms < LATENCY - 100, `the ${TIMEOUT} ms timeout fired after ${r.ms} ms on a ${LATENCY} ms mocked latency`);
    note(`${TIMEOUT_OPTION[name]}: ${l.error}`);
  },
  binary: (live, rep) => {
    const l = value(live.binary);
    assert.ok(l.body.equals(BINARY));
    assert.ok(value(rep.binary).body.equals(BINARY));
  },
};

function spanSummary(file) {
  const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  const out = [];
  for (const t of doc.traces)
    for (const rs of t.resourceSpans)
      for (const ss of rs.scopeSpans)
        for (const s of ss.spans) {
          const a = (k) => {
            const x = s.attributes.find((y) => y.key === k);
            return x && (x.value.stringValue ?? x.value.intValue);
          };
          out.push({ method: a('http.request.method'), path: a('url.path'), status: Number(a('http.response.status_code') || 0) });
        }
  return out;
}

for (const name of Object.keys(clients)) {
  test(`${name}: capture, offline strict replay and the issue 12 behaviours`, async (t) => {
    const client = await clients[name]();
    const state = { n: 0 };
    const server = name === 'https.request' ? await startTlsServer(handler(state)) : await startServer(handler(state));
    const base = server.url;
    const out = path.join(tmpDir(), 'client.case.json');
    // 1. Live, through a capture session (secrets redaction off: the cookies are compared).
    const cap = await sp.startSession({ mode: 'capture', redaction: { enabled: false } });
    let live;
    try {
      live = await cap.run(() => observe(client, base, state, 'capture'));
    } finally {
      await cap.close({ out });
      await server.close();
    }
    const spans = spanSummary(out);
    // 2. Offline strict replay: one rule per recorded exchange, picked with findInCase.
    const rep = await sp.startSession({ mode: 'replay', policy: { externalHttp: 'strict' } });
    let replayed;
    try {
      await rep.loadCaseFromFile(out);
      const seen = new Set();
      for (const s of spans) {
        const key = `${s.method} ${s.path}`;
        if (s.path === '/slow' || seen.has(key)) continue;
        seen.add(key);
        await rep.mockOutbound({ method: s.method, path: s.path, response: rep.findInCase({ method: s.method, path: s.path }).response });
      }
      await rep.mockOutbound({ path: '/slow', latencyMs: LATENCY, response: { status: 200, body: 'late' } });
      await rep.mockOutbound({ path: '/mock-cookies', response: { status: 200, headers: { 'set-cookie': ['a=1', 'b=2'] }, body: 'x' } });
      replayed = await rep.run(() => observe(client, base, state, 'replay'));
    } finally {
      await rep.close();
    }
    results[name] = {};
    for (const b of Object.keys(BEHAVIOURS)) {
      await t.test(BEHAVIOURS[b][0], () => {
        const r = (results[name][b] = { pass: false });
        try {
          CHECKS[b](live, replayed, { client, name, spans, note: (n) => (r.note = n) });
          r.pass = true;
        } catch (err) {
          r.error = String(err.message).split('\n')[0];
          throw err;
        }
      });
    }
  });
}

test.after(() => {
  const version = (p) => JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'node_modules', p, 'package.json'), 'utf8')).version;
  const doc = {
    generatedBy: 'bindings/node/test/clients.test.js (render: node scripts/client-table.js)',
    node: process.version,
    versions: { undici: version('undici'), axios: version('axios'), got: version('got'), 'node-fetch': version('node-fetch'), superagent: version('superagent'), ky: version('ky') },
    behaviours: Object.fromEntries(Object.entries(BEHAVIOURS).map(([k, [title, what]]) => [k, { title, what }])),
    results,
  };
  if (Object.keys(results).length === Object.keys(clients).length) {
    fs.writeFileSync(path.join(__dirname, 'client-matrix.json'), JSON.stringify(doc, null, 2) + '\n');
  }
});
