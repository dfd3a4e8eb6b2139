'use strict';
// The options of an http(s).request call, read once. Clients such as axios
// (through follow-redirects) and got pass option objects of 20-33 keys in V8's
// dictionary mode; copying those whole (spread, Object.assign) takes V8's slow
// path, and a copy of some 20 keys or more is itself in dictionary mode, so
// Node's ClientRequest, which copies its options twice, took 15-27 us on one.
// So the interceptor keeps a plain copy only for a forwarded call (copyArg) and
// reads the fields Node's http.request documents into one fixed-shape object.
const { urlToHttpOptions } = require('node:url');

const isEnumerable = Object.prototype.propertyIsEnumerable;

/**
 * {...a} for an option object: its own enumerable properties, string keys
 * then symbols, a `__proto__` key defined as a property, not set (0.6-1 us on
 * the dictionary-mode objects above, against 3-6 us for the spread).
 */
function copyArg(a) {
  const out = {};
  const keys = Object.keys(a);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    if (k === '__proto__') Object.defineProperty(out, k, { value: a[k], writable: true, enumerable: true, configurable: true });
    else out[k] = a[k];
  }
  const symbols = Object.getOwnPropertySymbols(a);
  for (let i = 0; i < symbols.length; i++) if (isEnumerable.call(a, symbols[i])) out[symbols[i]] = a[symbols[i]];
  return out;
}

/**
 * The http.request options (Node 20-24 documentation, and `_defaultAgent`,
 * which https.request passes) as Object.assign(urlToHttpOptions(url), options)
 * would hold them: an own enumerable property of `options` wins, else the
 * URL's field. Every field Node's ClientRequest reads is here, so a
 * ClientRequest made on this object validates the call as on the full one;
 * a field absent from both is undefined, which Node reads as absent.
 */
function requestOptions(url, options) {
  const u = url === null ? null : urlToHttpOptions(url);
  const o = options ? Object(options) : null;
  const get = (k) => (o !== null && isEnumerable.call(o, k) ? o[k] : u !== null ? u[k] : undefined);
  return {
    _defaultAgent: get('_defaultAgent'),
    agent: get('agent'),
    auth: get('auth'),
    createConnection: get('createConnection'),
    defaultPort: get('defaultPort'),
    family: get('family'),
    headers: get('headers'),
    hints: get('hints'),
    host: get('host'),
    hostname: get('hostname'),
    insecureHTTPParser: get('insecureHTTPParser'),
    joinDuplicateHeaders: get('joinDuplicateHeaders'),
    localAddress: get('localAddress'),
    localPort: get('localPort'),
    lookup: get('lookup'),
    maxHeaderSize: get('maxHeaderSize'),
    method: get('method'),
    path: get('path'),
    port: get('port'),
    protocol: get('protocol'),
    setDefaultHeaders: get('setDefaultHeaders'),
    setHost: get('setHost'),
    signal: get('signal'),
    socketPath: get('socketPath'),
    timeout: get('timeout'),
    uniqueHeaders: get('uniqueHeaders'),
  };
}

module.exports = { copyArg, requestOptions };
