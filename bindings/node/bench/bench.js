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
// A second matrix (issue 15) runs undici.request (softprobe, MockAgent,
// loopback) and axios (http adapter), got and superagent through softprobe
// against each library's own floors, the same library answered with a canned
// response and no softprobe: the agent floor (all three), an http.Agent whose
// sockets are in-memory streams replying with canned HTTP bytes, so the
// library's whole HTTP side and Node's client run as under softprobe, which
// answers at http.request; and, for axios and got, the adapter floor (axios: a
// custom adapter; got: its `request` option returning a canned response),
// which skips the library's HTTP side altogether. A third pass measures the heap retained
// per request over 100,000 undici.request calls (heapUsed after global.gc(),
// node --expose-gc) for softprobe, MockAgent and a keep-alive loopback server,
// and over as many fetch, http.get, axios, got and superagent calls answered
// by softprobe.
//
//   cd bindings/node/bench && npm install && node bench.js [--n 20000] [--rounds 3] [--mem-n 100000] [--json out.json]
//   (--only fetch|clients|memory runs one part; axios, got and superagent come
//   from bindings/node's devDependencies)
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
    case 'floor-adapter':
      // The client's own canned answer above its HTTP side, no softprobe (see clientOnce).
      return { url: URL_, wrap: (fn) => fn(), floor: 'adapter' };
    case 'floor-agent':
      // The client's own HTTP side on a canned-socket http.Agent, no softprobe (see cannedAgent).
      return { url: URL_, wrap: (fn) => fn(), floor: 'agent' };
    default:
      throw new Error(`unknown library ${lib}`);
  }
}

const CANNED_HTTP = Buffer.from(
  `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(BODY_TEXT)}\r\n` +
    `connection: close\r\n\r\n${BODY_TEXT}`
);

/** An http.Agent whose every connection is an in-memory socket answering CANNED_HTTP: the agent floor. */
function cannedAgent(http) {
  const { Duplex } = require('node:stream');
  class CannedAgent extends http.Agent {
    createConnection() {
      let answered = false;
      const socket = new Duplex({
        read() {},
        write(chunk, enc, cb) {
          if (!answered) {
            answered = true;
            this.push(CANNED_HTTP);
            this.push(null);
          }
          cb();
        },
      });
      socket.setTimeout = socket.setNoDelay = socket.setKeepAlive = socket.ref = socket.unref = () => socket;
      return socket;
    }
  }
  return new CannedAgent({ keepAlive: false });
}

function checkBody(v) {
  if (v.total !== 2) throw new Error('bad body');
}

/** One request through `client`; with env.floor, the client's own canned answer instead of the network. */
function clientOnce(client, env, http) {
  const agent = env.floor === 'agent' ? cannedAgent(http) : undefined;
  switch (client) {
    case 'fetch':
      return async () => checkBody(await (await fetch(env.url)).json());
    case 'http.get':
      return () => httpGetOnce(http, env.url);
    case 'undici.request': {
      const undici = require('undici');
      return async () => checkBody(await (await undici.request(env.url)).body.json());
    }
    case 'axios': {
      const axios = require('axios');
      const config =
        env.floor === 'adapter'
          ? {
              adapter: (cfg) =>
                Promise.resolve({ data: BODY_TEXT, status: 200, statusText: 'OK', headers: { ...HEADERS }, config: cfg, request: {} }),
            }
          : { adapter: 'http', httpAgent: agent };
      return async () => checkBody((await axios.get(env.url, config)).data);
    }
    case 'got': {
      const got = require('got');
      const { Readable } = require('node:stream');
      const options = { retry: 0 };
      if (agent) options.agent = { http: agent };
      if (env.floor === 'adapter') {
        // got takes a response-like stream returned by its `request` option as the answer.
        options.request = () => {
          const res = Readable.from([Buffer.from(BODY_TEXT)], { objectMode: false });
          res.statusCode = 200;
          res.statusMessage = 'OK';
          res.headers = { ...HEADERS, 'content-length': String(Buffer.byteLength(BODY_TEXT)) };
          res.rawHeaders = ['content-type', HEADERS['content-type']];
          res.httpVersion = '1.1';
          return res;
        };
      }
      return async () => checkBody(await got(env.url, options).json());
    }
    case 'superagent': {
      const superagent = require('superagent');
      return async () => {
        const req = superagent.get(env.url);
        if (agent) req.agent(agent);
        checkBody((await req).body);
      };
    }
    default:
      throw new Error(`unknown client ${client}`);
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
  const once = clientOnce(client, env, http);
  return env.wrap(async () => {
    for (let i = 0; i < 2000; i++) await once();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await once();
    return Number(process.hrtime.bigint() - t0) / 1000 / n;
  });
}

async function settledHeap() {
  await new Promise((r) => setImmediate(r));
  global.gc();
  return process.memoryUsage().heapUsed;
}

/**
 * Heap bytes retained per request over n requests (after warm-up; needs node
 * --expose-gc), as "<right after the loop> <after one more turn of the event
 * loop>": the first is what the loop itself keeps alive (global.gc() with no
 * turn of the event loop between the last request and the measurement).
 */
async function retained(lib, client, n) {
  if (typeof global.gc !== 'function') throw new Error('the memory pass needs node --expose-gc');
  const env = await setup(lib);
  const http = require('node:http');
  const once = clientOnce(client, env, http);
  return env.wrap(async () => {
    for (let i = 0; i < 2000; i++) await once();
    const before = await settledHeap();
    for (let i = 0; i < n; i++) await once();
    global.gc();
    const atEnd = process.memoryUsage().heapUsed;
    const settled = await settledHeap();
    return `${(atEnd - before) / n} ${(settled - before) / n}`;
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

// Issue 15: undici.request against MockAgent, and axios, got and superagent against their own floors.
const CLIENTS = [
  ['softprobe', 'undici.request'],
  ['undici-mockagent', 'undici.request'],
  ['loopback', 'undici.request'],
  ['softprobe', 'axios'],
  ['floor-agent', 'axios'],
  ['floor-adapter', 'axios'],
  ['loopback', 'axios'],
  ['softprobe', 'got'],
  ['floor-agent', 'got'],
  ['floor-adapter', 'got'],
  ['loopback', 'got'],
  ['softprobe', 'superagent'],
  ['floor-agent', 'superagent'],
  ['loopback', 'superagent'],
];

const MEMORY = [
  ['softprobe', 'undici.request'],
  ['undici-mockagent', 'undici.request'],
  ['loopback', 'undici.request'],
  // Issue 15's memory target (<= 1 KB per request) for every client softprobe answers.
  ['softprobe', 'fetch'],
  ['softprobe', 'http.get'],
  ['softprobe', 'axios'],
  ['softprobe', 'got'],
  ['softprobe', 'superagent'],
];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function child(kind, lib, client, n) {
  const flags = kind === 'memory' ? ['--expose-gc'] : [];
  const out = execFileSync(process.execPath, [...flags, __filename, '--child', kind, lib, client, String(n)], { encoding: 'utf8' });
  const values = out.trim().split(/\s+/).map(Number);
  return kind === 'memory' ? values : values[0];
}

function fetchTable(n, rounds, results, med) {
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
  return lines;
}

function clientsTable(n, rounds, results, med) {
  const lines = [];
  const runsOf = (key) => results[key].map((x) => x.toFixed(1)).join(', ');
  const verdict = (ratio, target) => (ratio <= target ? `met (<= ${target}x)` : `not met (<= ${target}x)`);
  lines.push(`${n} sequential mocked GETs per run, ${rounds} rounds, median us/request (node ${process.version})`);
  lines.push('');
  lines.push('| client, answered by | us/req | x MockAgent | target | runs |');
  lines.push('|---|---|---|---|---|');
  const ref = med['undici-mockagent undici.request'];
  for (const [label, lib] of [
    ['undici MockAgent (reference)', 'undici-mockagent'],
    ['softprobe', 'softprobe'],
    ['keep-alive loopback server', 'loopback'],
  ]) {
    const key = `${lib} undici.request`;
    const ratio = med[key] / ref;
    lines.push(`| undici.request, ${label} | ${med[key].toFixed(1)} | ${ratio.toFixed(2)}x | ${lib === 'softprobe' ? verdict(ratio, 0.8) : ''} | ${runsOf(key)} |`);
  }
  // The target is judged against the agent floor (the seam softprobe answers at); the adapter floor is shown too.
  lines.push('');
  lines.push('| client, answered by | us/req | x agent floor | x adapter floor | target (<= 1.3x the agent floor) | against the adapter floor | runs |');
  lines.push('|---|---|---|---|---|---|---|');
  for (const c of ['axios', 'got', 'superagent']) {
    const agentFloor = med[`floor-agent ${c}`];
    const adapterFloor = med[`floor-adapter ${c}`];
    const x = (v, f) => (f === undefined ? 'n/a' : `${(v / f).toFixed(2)}x`);
    for (const [label, lib] of [
      ['its agent floor (canned-socket http.Agent)', 'floor-agent'],
      ['its adapter floor', 'floor-adapter'],
      ['softprobe', 'softprobe'],
      ['keep-alive loopback server', 'loopback'],
    ]) {
      const key = `${lib} ${c}`;
      const v = med[key];
      if (v === undefined) continue;
      const sp = lib === 'softprobe';
      const target = sp ? verdict(v / agentFloor, 1.3) : '';
      const against = sp && adapterFloor !== undefined ? verdict(v / adapterFloor, 1.3) : '';
      lines.push(`| ${c}, ${label} | ${v.toFixed(1)} | ${x(v, agentFloor)} | ${x(v, adapterFloor)} | ${target} | ${against} | ${runsOf(key)} |`);
    }
  }
  return lines;
}

function memoryTable(n, results) {
  const lines = [`heap retained per request over ${n} requests (heapUsed after global.gc(), after 2,000 warm-up requests)`, ''];
  lines.push('| client | answered by | bytes/request, right after the loop | after one more event-loop turn | target |');
  lines.push('|---|---|---|---|---|');
  for (const [lib, client] of MEMORY) {
    const [atEnd, settled] = results[`${lib} ${client}`];
    // undici.request: <= 256 B (issue 15's own figure for it); every client: <= 1 KB.
    const limit = client === 'undici.request' ? 256 : 1024;
    const target = lib === 'softprobe' ? `${atEnd <= limit ? 'met' : 'not met'} (<= ${limit} B)` : '';
    lines.push(`| ${client} | ${lib} | ${atEnd.toFixed(1)} | ${settled.toFixed(1)} | ${target} |`);
  }
  return lines;
}

function main() {
  const n = Number(arg('n', 20000));
  const rounds = Number(arg('rounds', 3));
  const memN = Number(arg('mem-n', 100000));
  const only = arg('only');
  const parts = only ? [only] : ['fetch', 'clients', 'memory'];
  const out = { n, rounds, memN };
  const lines = [];
  const timed = (matrix, label) => {
    const results = {};
    for (let r = 0; r < rounds; r++) {
      for (const [lib, client] of matrix) {
        const us = child('time', lib, client, n);
        (results[`${lib} ${client}`] ||= []).push(us);
        process.stderr.write(`${label} round ${r + 1}: ${lib} ${client}: ${us.toFixed(1)} us/request\n`);
      }
    }
    return { results, median: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)])) };
  };
  if (parts.includes('fetch')) {
    const { results, median: med } = timed(MATRIX, 'fetch');
    out.fetch = { results, median: med };
    lines.push(...fetchTable(n, rounds, results, med), '');
  }
  if (parts.includes('clients')) {
    const { results, median: med } = timed(CLIENTS, 'clients');
    out.clients = { results, median: med };
    lines.push(...clientsTable(n, rounds, results, med), '');
  }
  if (parts.includes('memory')) {
    const results = {};
    for (const [lib, client] of MEMORY) {
      const b = child('memory', lib, client, memN);
      results[`${lib} ${client}`] = b;
      process.stderr.write(`memory: ${lib} ${client}: ${b.map((x) => x.toFixed(1)).join(' / ')} B/request\n`);
    }
    out.memory = { results };
    lines.push(...memoryTable(memN, results), '');
  }
  console.log(lines.join('\n'));
  const jsonOut = arg('json');
  if (jsonOut) fs.writeFileSync(path.resolve(jsonOut), JSON.stringify(out, null, 2));
}

if (process.argv[2] === '--child') {
  const [kind, lib, client, n] = process.argv.slice(3);
  (kind === 'memory' ? retained : measure)(lib, client, Number(n)).then(
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
