'use strict';
// The package's install script. A prebuilt addon for this platform
// (prebuilds/, scripts/prebuild.js) that loads is used as it is; otherwise,
// or with SOFTPROBE_CORE_BUILD set (linking a checkout's build) or
// npm_config_build_from_source (npm install --build-from-source), the addon is
// compiled from source with cmake-js, as before (docs/node.md).
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const pkg = path.join(__dirname, '..');

function prebuildLoads() {
  let file;
  try {
    file = require('node-gyp-build').path(pkg);
  } catch {
    return false; // no prebuild (and no build/) for this platform
  }
  if (!file.includes(`${path.sep}prebuilds${path.sep}`)) return false; // an earlier source build: rebuild it
  try {
    require(file);
    console.log(`softprobe: using the prebuilt addon ${path.relative(pkg, file)}`);
    return true;
  } catch (err) {
    console.log(`softprobe: the prebuilt addon ${path.relative(pkg, file)} does not load here (${err.message}); building from source`);
    return false;
  }
}

const fromSource =
  process.env.SOFTPROBE_CORE_BUILD || process.env.npm_config_build_from_source === 'true';
if (fromSource || !prebuildLoads()) {
  execFileSync(process.execPath, [require.resolve('cmake-js/bin/cmake-js'), 'compile', '--out', 'build'], {
    cwd: pkg,
    stdio: 'inherit',
  });
}
