'use strict';
// Mocked-request benchmark: 20,000 sequential GETs of a small JSON body, read
// fully, through global fetch and through http.get, for softprobe, nock, msw
// and undici's MockAgent (fetch only: it does not see http.get), plus a real
// loopback server for reference, and softprobe answering fetch through the
// undici global dispatcher only (the mechanism it does not use for fetch). Each (library, client) pair runs in a fresh
// child process so no library's patches slow another's; each run warms up
// with 2,000 requests first. Rounds repeat the whole matrix; the median is
// reported.
//
//   cd bindings/node/bench && npm install && node bench.js [--n 20000] [--rounds 3] [--json out.json]
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const fs = require('node:fs');

const URL_ = 'http://api.example.com/v1/items';
const BODY = { items: [{ id: 1, name: 'one' }, { id: 2, name: 'two' }], total: 2 };
const BODY_TEXT = JSON.stringify(BODY);
const HEADERS = { 'content-type': 'application/json' };

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}

// ---- one measurement (child process) -------------------------------------

async function setup(lib) {
  switch (lib) {
    case 'softprobe': {
      const { Softprobe } = require('..');
      const s = await new Softprobe().startSession({ mode: 'replay', policy: { externalHttp: 'strict' } });
      await s.mockOutbound({ method: 'GET', host: 'api.example.com', path: '/v1/items', response: { status: 200, headers: HEADERS, body: BODY_TEXT } });
      return { url: URL_, wrap: (fn) => s.run(fn) };
    }
    case 'softprobe-dispatcher': {
      // The alternative mechanism for fetch, measured for the choice: leave
      // global fetch alone and answer through undici's global dispatcher only.
      const { Softprobe } = require('..');
      require('../lib/intercept/fetch').uninstall();
      const s = await new Softprobe().startSession({ mode: 'replay', policy: { externalHttp: 'strict' } });
      await s.mockOutbound({ method: 'GET', host: 'api.example.com', path: '/v1/items', response: { status: 200, headers: HEADERS, body: BODY_TEXT } });
      return { url: URL_, wrap: (fn) => s.run(fn) };
    }
    case 'nock': {
      // nock 15 pulls @mswjs/interceptors 0.45, which calls Promise.withResolvers
      // (Node >= 22); the standard polyfill lets it run on Node 20.
      if (!Promise.withResolvers) {
        Promise.withResolvers = function withResolvers() {
          let resolve, reject;
          const promise = new this((a, b) => {
            resolve = a;
            reject = b;
          });
          return { promise, resolve, reject };
        };
      }
      const nockModule = require('nock');
      const nock = nockModule.default || nockModule;
      nock('http://api.example.com').get('/v1/items').reply(200, BODY_TEXT, HEADERS).persist();
      nock.disableNetConnect();
      return { url: URL_, wrap: (fn) => fn() };
    }
    case 'msw': {
      const { http, HttpResponse } = require('msw');
      const { setupServer } = require('msw/node');
      const server = setupServer(http.get(URL_, () => HttpResponse.text(BODY_TEXT, { headers: HEADERS })));
      server.listen({ onUnhandledRequest: 'error' });
      return { url: URL_, wrap: (fn) => fn() };
    }
    case 'undici-mockagent': {
      const { MockAgent, setGlobalDispatcher } = require('undici');
      const agent = new MockAgent();
      agent.disableNetConnect();
      agent.get('http://api.example.com').intercept({ path: '/v1/items', method: 'GET' }).reply(200, BODY_TEXT, { headers: HEADERS }).persist();
      setGlobalDispatcher(agent);
      return { url: URL_, wrap: (fn) => fn() };
    }
    case 'loopback': {
      const http = require('node:http');
      const server = http.createServer((req, res) => {
        res.writeHead(200, HEADERS);
        res.end(BODY_TEXT);
      });
      await new Promise((r) => server.listen(0, '127.0.0.1', r));
      server.unref();
      http.globalAgent = new http.Agent({ keepAlive: true });
      return { url: `http://127.0.0.1:${server.address().port}/v1/items`, wrap: (fn) => fn() };
    }
    default:
      throw new Error(`unknown library ${lib}`);
  }
}

function httpGetOnce(http, url) {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const v = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          if (v.total !== 2) reject(new Error('bad body'));
          else resolve();
        });
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

async function measure(lib, client, n) {
  const env = await setup(lib);
  const http = require('node:http'); // after setup: libraries patch it
  const once =
    client === 'fetch'
      ? async () => {
          const r = await fetch(env.url);
          const v = await r.json();
          if (v.total !== 2) throw new Error('bad body');
        }
      : () => httpGetOnce(http, env.url);
  return env.wrap(async () => {
    for (let i = 0; i < 2000; i++) await once();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await once();
    return Number(process.hrtime.bigint() - t0) / 1000 / n;
  });
}

// ---- the matrix (parent) --------------------------------------------------

const MATRIX = [
  ['softprobe', 'fetch'],
  ['softprobe', 'http.get'],
  ['softprobe-dispatcher', 'fetch'],
  ['nock', 'fetch'],
  ['nock', 'http.get'],
  ['msw', 'fetch'],
  ['msw', 'http.get'],
  ['undici-mockagent', 'fetch'],
  ['loopback', 'fetch'],
  ['loopback', 'http.get'],
];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function main() {
  const n = Number(arg('n', 20000));
  const rounds = Number(arg('rounds', 3));
  const results = {};
  for (let r = 0; r < rounds; r++) {
    for (const [lib, client] of MATRIX) {
      const out = execFileSync(process.execPath, [__filename, '--child', lib, client, String(n)], { encoding: 'utf8' });
      const us = Number(out.trim());
      (results[`${lib} ${client}`] ||= []).push(us);
      process.stderr.write(`round ${r + 1}: ${lib} ${client}: ${us.toFixed(1)} us/request\n`);
    }
  }
  const med = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)]));
  const lines = [];
  lines.push(`${n} sequential mocked GETs per run, ${rounds} rounds, median us/request (node ${process.version})`);
  lines.push('');
  lines.push('| library | fetch us/req | http.get us/req | fetch: x softprobe | http.get: x softprobe | runs (fetch / http.get) |');
  lines.push('|---|---|---|---|---|---|');
  for (const lib of ['softprobe', 'softprobe-dispatcher', 'nock', 'msw', 'undici-mockagent', 'loopback']) {
    const f = med[`${lib} fetch`];
    const h = med[`${lib} http.get`];
    const fr = f !== undefined ? (f / med['softprobe fetch']).toFixed(1) + 'x' : 'n/a';
    const hr = h !== undefined ? (h / med['softprobe http.get']).toFixed(1) + 'x' : 'n/a';
    const runs = [results[`${lib} fetch`], results[`${lib} http.get`]].map((v) => (v ? v.map((x) => x.toFixed(0)).join(',') : '-')).join(' / ');
    lines.push(`| ${lib} | ${f !== undefined ? f.toFixed(1) : 'n/a'} | ${h !== undefined ? h.toFixed(1) : 'n/a'} | ${fr} | ${hr} | ${runs} |`);
  }
  console.log(lines.join('\n'));
  const jsonOut = arg('json');
  if (jsonOut) fs.writeFileSync(path.resolve(jsonOut), JSON.stringify({ n, rounds, results, median: med }, null, 2));
}

if (process.argv[2] === '--child') {
  measure(process.argv[3], process.argv[4], Number(process.argv[5])).then(
    (us) => {
      process.stdout.write(`${us}\n`);
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    }
  );
} else {
  main();
}
