'use strict';
// Installs and removes every interceptor at once. The package installs them
// when it is loaded (so modules that keep a reference to http.get or fetch
// are covered too); with no active session each patched function forwards
// to the original at the cost of one AsyncLocalStorage lookup.
const http = require('./http');
const fetch = require('./fetch');
const undici = require('./undici');

let active = false;

function install() {
  http.install();
  fetch.install();
  undici.install();
  active = true;
}

function uninstall() {
  http.uninstall();
  fetch.uninstall();
  undici.uninstall();
  active = false;
}

function isInstalled() {
  return active;
}

module.exports = { install, uninstall, isInstalled, reinstallDispatcher: undici.reinstall };
