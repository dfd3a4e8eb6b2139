'use strict';
// Loads the Node-API addon and refuses a core whose major version differs from the one
// this package was written for. The addon itself refuses, at load, a
// libsoftprobe.so whose ABI does not serve the header it was built against
// (src/addon.cc; the addon links the shared library when built with
// SOFTPROBE_CORE_BUILD, docs/node.md). Where the addon is looked for, in order:
// SOFTPROBE_NODE_ADDON, build/Release and build/Debug (built by cmake-js on
// `npm install`), then the tarball's prebuilt addon for this platform
// (prebuilds/<platform>-<arch>/, found by node-gyp-build; docs/node.md#the-npm-tarball).
const path = require('node:path');

const PACKAGE_DIR = path.join(__dirname, '..');

// The prebuild node-gyp-build picks for this platform, or undefined (none matches).
function prebuild() {
  try {
    const file = require('node-gyp-build').path(PACKAGE_DIR);
    return file.includes(`${path.sep}prebuilds${path.sep}`) ? file : undefined;
  } catch {
    return undefined;
  }
}

const EXPECTED_MAJOR = 0;

function load() {
  const candidates = [];
  if (process.env.SOFTPROBE_NODE_ADDON) candidates.push(path.resolve(process.env.SOFTPROBE_NODE_ADDON));
  candidates.push(path.join(__dirname, '..', 'build', 'Release', 'softprobe.node'));
  candidates.push(path.join(__dirname, '..', 'build', 'Debug', 'softprobe.node'));
  const prebuilt = prebuild();
  if (prebuilt) candidates.push(prebuilt);
  let lastError;
  for (const file of candidates) {
    try {
      const native = require(file);
      // Where the addon was loaded from (the version-check test loads a copy beside a different core).
      Object.defineProperty(native, 'addonFile', { value: file, enumerable: false });
      return native;
    } catch (err) {
      if (err && err.code === 'MODULE_NOT_FOUND') {
        lastError = err;
        continue;
      }
      throw err;
    }
  }
  const e = new Error(
    'softprobe: the native addon is not built and no prebuilt addon matches ' +
      `${process.platform}-${process.arch} (looked for ` + candidates.join(', ') + '). ' +
      'Build it with `npm rebuild softprobe` (needs cmake >= 3.25, a C++20 compiler and nlohmann-json3-dev), ' +
      'or set SOFTPROBE_NODE_ADDON to the path of softprobe.node.'
  );
  e.cause = lastError;
  throw e;
}

const native = load();
const major = Math.floor(native.versionNumber() / 10000);
if (major !== EXPECTED_MAJOR) {
  throw new Error(
    `softprobe: the native core is version ${native.versionString()} (major ${major}) but this package needs major ` +
      `${EXPECTED_MAJOR}; reinstall the package from the matching libsoftprobe checkout`
  );
}

module.exports = native;
