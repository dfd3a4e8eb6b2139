'use strict';
// Which session is active for the code running now: the one bound to the
// async context by session.run(fn), else the process-wide one set by
// session.activate(). Interceptors ask current() once per request.
const { AsyncLocalStorage } = require('node:async_hooks');

const storage = new AsyncLocalStorage();
let processWide = null;

/** @returns {import('./session').SoftprobeSession | null} */
function current() {
  const s = storage.getStore();
  if (s !== undefined) return s;
  return processWide;
}

function run(session, fn, args) {
  return storage.run(session, fn, ...args);
}

/** Runs fn with no active session (the package's own traffic). */
function runOutside(fn) {
  return storage.run(null, fn);
}

function setProcessWide(session) {
  processWide = session;
}

function getProcessWide() {
  return processWide;
}

module.exports = { current, run, runOutside, setProcessWide, getProcessWide };
