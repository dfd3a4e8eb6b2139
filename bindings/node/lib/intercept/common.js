'use strict';
// Small helpers shared by the interceptors: timing, header flattening,
// response-body decoding, delays.
const { STATUS_CODES } = require('node:http');
const zlib = require('node:zlib');
const { performance } = require('node:perf_hooks');

const OUTCOME_MOCK = 0;
const OUTCOME_ERROR = 1;
const OUTCOME_PASSTHROUGH = 2;
const OUTCOME_CAPTURE_ONLY = 3;

/** Unix time in milliseconds with sub-millisecond precision. */
function nowMs() {
  return performance.timeOrigin + performance.now();
}

function statusText(status) {
  return STATUS_CODES[status] || '';
}

/** Statuses whose responses never carry a body. */
function isNullBodyStatus(status) {
  return status === 101 || status === 204 || status === 205 || status === 304;
}

/**
 * Flattens any header container into [name, value, ...]:
 * a Headers/Map-like (entries iterator), an array of pairs, a flat raw array,
 * or a plain object whose values may be arrays.
 */
function flattenHeaders(h) {
  const out = [];
  if (h == null) return out;
  if (Array.isArray(h)) {
    if (h.length && Array.isArray(h[0])) {
      for (const [k, v] of h) out.push(String(k), String(v));
    } else {
      for (let i = 0; i + 1 < h.length; i += 2) out.push(String(h[i]), String(h[i + 1]));
    }
    return out;
  }
  if (typeof h.entries === 'function' && typeof h.get === 'function') {
    for (const [k, v] of h.entries()) out.push(k, v);
    return out;
  }
  for (const k of Object.keys(h)) {
    const v = h[k];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) out.push(k, String(x));
    else out.push(k, String(v));
  }
  return out;
}

/** Waits ms milliseconds; rejects with the signal's reason if it aborts. */
function delay(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal && signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      if (signal) signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    function onAbort() {
      clearTimeout(t);
      reject(signal.reason);
    }
    if (signal) signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A mock body whose headers say it is compressed (a captured gzip response):
 * fetch's Response constructor does not decode, so decode here, as a network
 * fetch does (it keeps the content-encoding and content-length headers).
 * Returns the decoded bytes, or null when there is nothing to decode.
 */
function decodeForFetch(flat, body) {
  let encoding = null;
  for (let i = 0; i < flat.length; i += 2) {
    if (flat[i].length === 16 && flat[i].toLowerCase() === 'content-encoding') encoding = flat[i + 1].trim().toLowerCase();
  }
  if (!encoding || encoding === 'identity' || body.length === 0) return null;
  try {
    if (encoding === 'gzip' || encoding === 'x-gzip') return zlib.gunzipSync(body);
    if (encoding === 'deflate') return body[0] === 0x78 ? zlib.inflateSync(body) : zlib.inflateRawSync(body); // zlib-wrapped or raw, as fetch accepts
    if (encoding === 'br') return zlib.brotliDecompressSync(body);
  } catch {
    /* not what the header says: hand the bytes over as they are */
  }
  return null;
}

module.exports = {
  OUTCOME_MOCK,
  OUTCOME_ERROR,
  OUTCOME_PASSTHROUGH,
  OUTCOME_CAPTURE_ONLY,
  nowMs,
  statusText,
  isNullBodyStatus,
  flattenHeaders,
  delay,
  decodeForFetch,
};
