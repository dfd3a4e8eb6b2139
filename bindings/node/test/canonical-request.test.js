'use strict';
// The canonical request property (issue 10): one request sent by fetch, http
// and undici records the same canonical path, query, headers and fingerprint,
// the form in tests/fixtures/canonical_request/same-request.json that the
// Python suite checks too (docs/requests.md).
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const undici = require('undici');
const { Softprobe, requestFingerprint } = require('..');
const { startServer, tmpDir } = require('./support');

const FIXTURE = JSON.parse(
  fs.readFileSync(path.join(__dirname, '..', '..', '..', 'tests', 'fixtures', 'canonical_request', 'same-request.json'), 'utf8')
);
const sp = new Softprobe({ warnOnStrictMiss: false });

// Each client sends FIXTURE's request to `base`, with its headers as repeated lines where the API allows.
const CLIENTS = {
  fetch: {
    folds: true, // a Headers object joins repeated names with ", "
    send: async (base) => {
      const headers = new Headers();
      for (const [n, v] of FIXTURE.headers) headers.append(n, v);
      const r = await fetch(base + FIXTURE.target, { method: FIXTURE.method, headers, body: FIXTURE.body });
      await r.arrayBuffer();
      return r.status;
    },
  },
  http: {
    folds: false,
    send: (base) =>
      new Promise((resolve, reject) => {
        const u = new URL(base);
        const lines = {};
        for (const [n, v] of FIXTURE.headers) (lines[n] = lines[n] || []).push(v);
        const req = http.request({ host: u.hostname, port: u.port, method: FIXTURE.method, path: FIXTURE.target }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode));
        });
        for (const n of Object.keys(lines)) req.setHeader(n, lines[n].length === 1 ? lines[n][0] : lines[n]);
        req.on('error', reject);
        req.end(FIXTURE.body);
      }),
  },
  undici: {
    folds: false,
    send: async (base) => {
      const r = await undici.request(base + FIXTURE.target, { method: FIXTURE.method, headers: FIXTURE.headers.flat(), body: FIXTURE.body });
      await r.body.arrayBuffer();
      return r.statusCode;
    },
  },
};

function spansOf(doc) {
  const out = [];
  for (const t of doc.traces) for (const rs of t.resourceSpans) for (const ss of rs.scopeSpans) out.push(...ss.spans);
  return out;
}

function attrValues(span, key) {
  const a = span.attributes.find((x) => x.key === key);
  if (!a) return undefined;
  const v = a.value;
  if (v.arrayValue) return v.arrayValue.values.map((x) => x.stringValue);
  return [v.stringValue ?? String(v.intValue)];
}

test('one request, every Node client: the same canonical path, query, headers and fingerprint', async (t) => {
  const server = await startServer();
  const exp = FIXTURE.expected;
  const fingerprint = requestFingerprint(exp.method, server.host, exp.path, FIXTURE.body);
  try {
    for (const [name, client] of Object.entries(CLIENTS)) {
      await t.test(name, async () => {
        // Capture: what the core records for this client.
        const out = path.join(tmpDir(), `${name}.case.json`);
        const cap = await sp.startSession({ mode: 'capture', caseId: `canonical-${name}` });
        try {
          assert.equal(await cap.run(() => client.send(server.url)), 200);
        } finally {
          await cap.close({ out });
        }
        const spans = spansOf(JSON.parse(fs.readFileSync(out, 'utf8')));
        assert.equal(spans.length, 1);
        const span = spans[0];
        assert.deepEqual(attrValues(span, 'http.request.method'), [exp.method]);
        assert.deepEqual(attrValues(span, 'url.path'), [exp.path]);
        assert.deepEqual(attrValues(span, 'url.query'), [exp.query]);
        assert.deepEqual(attrValues(span, 'http.request.header.host'), [server.host]);
        const want = client.folds ? exp.foldedHeaders : exp.headers;
        for (const [h, values] of Object.entries(want)) assert.deepEqual(attrValues(span, `http.request.header.${h}`), values, h);

        // Strict replay: the decision sees the same form and reports its fingerprint.
        const rep = await sp.startSession({ mode: 'replay', policy: { externalHttp: 'strict' } });
        try {
          assert.equal(await rep.run(() => client.send(server.url)), 599);
          const misses = rep.strictMisses();
          assert.equal(misses.length, 1);
          assert.equal(misses[0].path, exp.path);
          assert.equal(misses[0].query, exp.query);
          assert.equal(misses[0].requestFingerprint, fingerprint);
        } finally {
          await rep.close();
        }
      });
    }
  } finally {
    await server.close();
  }
});
