'use strict';
// One adapter per supported HTTP client, used by clients.test.js: each sends a
// request the way an application would and reports what the application sees
// ({status, headers, setCookie, body, url, redirected}), streams a body
// (calling onChunk at the first chunk), or runs into its own timeout option
// (resolving with what identifies the error: a code or a name).
const http = require('node:http');
const https = require('node:https');

/** Lower-cased header object; set-cookie always as an array. */
function headerObject(entries) {
  const out = {};
  for (const [k0, v] of entries) {
    const k = k0.toLowerCase();
    if (k === 'set-cookie') (out[k] || (out[k] = [])).push(...[].concat(v));
    else out[k] = k in out ? `${out[k]}, ${v}` : String(v);
  }
  return out;
}

function nodeHeaders(h) {
  const pairs = [];
  for (const k of Object.keys(h)) if (h[k] !== undefined) pairs.push([k, h[k]]);
  return headerObject(pairs);
}

function viaFetchResponse(r, body) {
  return {
    status: r.status,
    headers: headerObject([...r.headers]),
    setCookie: r.headers.getSetCookie(),
    body,
    url: r.url,
    redirected: r.redirected,
  };
}

function timedError(promise) {
  return promise.then(
    () => 'no error',
    (e) => (typeof e.code === 'string' ? e.code : e.type || e.name)
  );
}

/** http.request / https.request (raw Node: no redirects, no decoding). */
function nodeClient(mod, extra = {}) {
  const send = (url, { method = 'GET' } = {}) =>
    new Promise((resolve, reject) => {
      const req = mod.request(url, { method, ...extra }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode, headers: nodeHeaders(res.headers), setCookie: res.headers['set-cookie'] || [], body: Buffer.concat(chunks) })
        );
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  return {
    follows: false,
    send,
    stream: (url, onChunk) =>
      new Promise((resolve, reject) => {
        mod
          .get(url, extra, (res) => {
            const chunks = [];
            res.on('data', (c) => {
              if (chunks.length === 0) onChunk();
              chunks.push(c);
            });
            res.on('end', () => resolve(Buffer.concat(chunks)));
          })
          .on('error', reject);
      }),
    timeout: (url, ms) =>
      timedError(
        new Promise((resolve, reject) => {
          const req = mod.get(url, { timeout: ms, ...extra }, (res) => res.resume().on('end', resolve));
          req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'APP_TIMEOUT' })));
          req.on('error', reject);
        })
      ),
  };
}

const clients = {
  fetch: () => ({
    follows: true,
    send: async (url, { method = 'GET', redirect } = {}) => {
      const r = await fetch(url, { method, redirect });
      return viaFetchResponse(r, Buffer.from(await r.arrayBuffer()));
    },
    stream: async (url, onChunk) => {
      const r = await fetch(url);
      const reader = r.body.getReader();
      const chunks = [];
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (chunks.length === 0) onChunk();
        chunks.push(value);
      }
      return Buffer.concat(chunks);
    },
    timeout: (url, ms) => timedError(fetch(url, { signal: AbortSignal.timeout(ms) }).then((r) => r.text())),
  }),
  'http.request': () => nodeClient(http),
  'https.request': () => nodeClient(https, { ca: require('./support').TLS.cert }),
  'undici.request': () => {
    const undici = require('undici');
    return {
      follows: false,
      send: async (url, { method = 'GET' } = {}) => {
        const r = await undici.request(url, { method });
        const body = Buffer.from(await r.body.arrayBuffer());
        return { status: r.statusCode, headers: nodeHeaders(r.headers), setCookie: [].concat(r.headers['set-cookie'] || []), body };
      },
      stream: async (url, onChunk) => {
        const r = await undici.request(url);
        const chunks = [];
        for await (const c of r.body) {
          if (chunks.length === 0) onChunk();
          chunks.push(c);
        }
        return Buffer.concat(chunks);
      },
      timeout: (url, ms) => timedError(undici.request(url, { headersTimeout: ms }).then((r) => r.body.text())),
    };
  },
  axios: () => {
    const axios = require('axios');
    return {
      follows: true,
      send: async (url, { method = 'GET', redirect } = {}) => {
        const r = await axios.request({ url, method, responseType: 'arraybuffer', validateStatus: () => true, maxRedirects: redirect === 'manual' ? 0 : 5 });
        const res = r.request.res;
        return {
          status: r.status,
          headers: nodeHeaders(r.headers.toJSON ? r.headers.toJSON() : r.headers),
          setCookie: r.headers['set-cookie'] || [],
          body: Buffer.from(r.data),
          url: res && res.responseUrl,
          redirected: !!(res && res.redirects && res.redirects.length),
        };
      },
      stream: async (url, onChunk) => {
        const r = await axios.get(url, { responseType: 'stream' });
        const chunks = [];
        for await (const c of r.data) {
          if (chunks.length === 0) onChunk();
          chunks.push(c);
        }
        return Buffer.concat(chunks);
      },
      timeout: (url, ms) => timedError(axios.get(url, { timeout: ms })),
    };
  },
  got: () => {
    const got = require('got');
    return {
      follows: true,
      send: async (url, { method = 'GET', redirect } = {}) => {
        const r = await got(url, { method, responseType: 'buffer', throwHttpErrors: false, retry: 0, followRedirect: redirect !== 'manual' });
        return {
          status: r.statusCode,
          headers: nodeHeaders(r.headers),
          setCookie: r.headers['set-cookie'] || [],
          body: r.rawBody || r.body,
          url: r.url,
          redirected: r.redirectUrls.length > 0,
        };
      },
      stream: async (url, onChunk) => {
        const chunks = [];
        for await (const c of got.stream(url, { retry: 0 })) {
          if (chunks.length === 0) onChunk();
          chunks.push(c);
        }
        return Buffer.concat(chunks);
      },
      timeout: (url, ms) => timedError(got(url, { timeout: ms, retry: 0 })),
    };
  },
  'node-fetch': () => {
    const nodeFetch = require('node-fetch');
    return {
      follows: true,
      send: async (url, { method = 'GET', redirect } = {}) => {
        const r = await nodeFetch(url, { method, redirect });
        const raw = r.headers.raw();
        const pairs = [];
        for (const k of Object.keys(raw)) for (const v of raw[k]) pairs.push([k, v]);
        return { status: r.status, headers: headerObject(pairs), setCookie: raw['set-cookie'] || [], body: await r.buffer(), url: r.url, redirected: r.redirected };
      },
      stream: async (url, onChunk) => {
        const r = await nodeFetch(url);
        const chunks = [];
        for await (const c of r.body) {
          if (chunks.length === 0) onChunk();
          chunks.push(c);
        }
        return Buffer.concat(chunks);
      },
      timeout: (url, ms) => timedError(nodeFetch(url, { timeout: ms }).then((r) => r.text())),
    };
  },
  superagent: () => {
    const superagent = require('superagent');
    return {
      follows: true,
      send: async (url, { method = 'GET', redirect } = {}) => {
        const r = await superagent(method, url)
          .ok(() => true)
          .redirects(redirect === 'manual' ? 0 : 5)
          .responseType('blob');
        return {
          status: r.status,
          headers: nodeHeaders(r.headers),
          setCookie: r.headers['set-cookie'] || [],
          body: Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.text || ''),
          url: r.redirects.length ? r.redirects[r.redirects.length - 1] : url,
          redirected: r.redirects.length > 0,
        };
      },
      stream: (url, onChunk) =>
        new Promise((resolve, reject) => {
          const { Writable } = require('node:stream');
          const chunks = [];
          const sink = new Writable({
            write(c, _e, cb) {
              if (chunks.length === 0) onChunk();
              chunks.push(c);
              cb();
            },
          });
          sink.on('finish', () => resolve(Buffer.concat(chunks)));
          superagent.get(url).on('error', reject).pipe(sink);
        }),
      timeout: (url, ms) => timedError(superagent.get(url).timeout(ms)),
    };
  },
  ky: async () => {
    const ky = (await import('ky')).default; // ky is ESM only
    return {
      follows: true,
      send: async (url, { method = 'GET', redirect } = {}) => {
        const r = await ky(url, { method, redirect, throwHttpErrors: false, retry: 0 });
        return viaFetchResponse(r, Buffer.from(await r.arrayBuffer()));
      },
      stream: async (url, onChunk) => {
        const r = await ky(url, { retry: 0 });
        const reader = r.body.getReader();
        const chunks = [];
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          if (chunks.length === 0) onChunk();
          chunks.push(value);
        }
        return Buffer.concat(chunks);
      },
      timeout: (url, ms) => timedError(ky(url, { timeout: ms, retry: 0 }).text()),
    };
  },
};

module.exports = { clients };
