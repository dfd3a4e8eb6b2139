'use strict';
// npm run package-prebuild: builds the addon for the npm tarball into
// prebuilds/<platform>-<arch>/ (node-gyp-build's layout), linked against
// SOFTPROBE_CORE_BUILD's libsoftprobe.so (nothing of the core is compiled):
//   prebuilds/linux-x64/softprobe.napi.glibc.node  the addon, Node-API 8 (one
//                                                  binary for Node 20, 22, 24), rpath $ORIGIN
//   prebuilds/linux-x64/libsoftprobe.so.<soname>   the core, stripped, rpath $ORIGIN
//   prebuilds/linux-x64/libsimdjson.so.<soname>    the core's simdjson (not a common system library)
// libcurl and the C/C++ runtime come from the system (docs/node.md#the-npm-tarball).
// Needs cmake, a C++20 compiler and patchelf (Debian: patchelf). The build
// tree is SOFTPROBE_PREBUILD_DIR (default build-prebuild/, git-ignored).
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const pkg = path.join(__dirname, '..');
const fail = (message) => {
  console.error(`prebuild: ${message}`);
  process.exit(1);
};

const coreBuild = process.env.SOFTPROBE_CORE_BUILD;
if (!coreBuild || !fs.existsSync(path.join(coreBuild, 'libsoftprobe', 'softprobeConfig.cmake'))) {
  fail(`SOFTPROBE_CORE_BUILD must name a built libsoftprobe build directory (got '${coreBuild || ''}')`);
}
const run = (file, args, options = {}) => execFileSync(file, args, { stdio: 'inherit', ...options });
const output = (file, args) => execFileSync(file, args, { encoding: 'utf8' }).trim();
try {
  output('patchelf', ['--version']);
} catch {
  fail('patchelf is not installed (Debian: apt-get install patchelf)');
}

const buildDir = path.resolve(process.env.SOFTPROBE_PREBUILD_DIR || path.join(pkg, 'build-prebuild'));
run(process.execPath, [
  require.resolve('cmake-js/bin/cmake-js'), 'compile', '--out', buildDir,
  '--CDSOFTPROBE_NODE_PREBUILD=ON', `--CDSOFTPROBE_CORE_BUILD=${path.resolve(coreBuild)}`,
], { cwd: pkg });

const addon = path.join(buildDir, 'Release', 'softprobe.node');
if (!fs.existsSync(addon)) fail(`the build made no ${addon}`);
const dest = path.join(pkg, 'prebuilds', `${process.platform}-${process.arch}`);
fs.rmSync(dest, { recursive: true, force: true });
fs.mkdirSync(dest, { recursive: true });

// The shared libraries the addon needs that are bundled, found by their SONAME through ldd
// (the addon's rpath is $ORIGIN alone: the core is looked for in the build's libsoftprobe/).
const BUNDLED = [/^libsoftprobe\.so\./, /^libsimdjson\.so\./];
const lddEnv = { ...process.env, LD_LIBRARY_PATH: path.join(path.resolve(coreBuild), 'libsoftprobe') };
const needed = execFileSync('ldd', [addon], { encoding: 'utf8', env: lddEnv })
  .split('\n')
  .map((line) => line.trim().match(/^(\S+) => (\/\S+)/))
  .filter((m) => m && BUNDLED.some((re) => re.test(m[1])));
if (needed.length !== BUNDLED.length) fail(`expected ${BUNDLED.length} bundled libraries in ldd ${addon}, found ${needed.map((m) => m[1])}`);
for (const [, soname, file] of needed) {
  const copy = path.join(dest, soname);
  fs.copyFileSync(fs.realpathSync(file), copy);
  fs.chmodSync(copy, 0o755);
  run('strip', ['--strip-unneeded', copy]);
  run('patchelf', ['--set-rpath', '$ORIGIN', copy]);
}
const target = path.join(dest, 'softprobe.napi.glibc.node');
fs.copyFileSync(addon, target);
run('strip', ['--strip-unneeded', target]);
const rpath = output('patchelf', ['--print-rpath', target]);
if (rpath !== '$ORIGIN') fail(`${target} has rpath '${rpath}', not $ORIGIN`);
for (const file of fs.readdirSync(dest)) {
  console.log(`prebuild: ${path.join(dest, file)} ${fs.statSync(path.join(dest, file)).size} bytes`);
}
