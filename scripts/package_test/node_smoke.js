'use strict';
// Uses the softprobe package installed from the npm tarball (scripts/package_test.sh),
// copied into the consumer project and run there: require('softprobe') must load the tarball's
// prebuilt addon (prebuilds/), state VERSION, and answer one fetch from a
// mock under a strict replay session (api.example.invalid is never resolved).
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const expected = process.argv[2];
const softprobe = require('softprobe');
const pkgDir = path.dirname(require.resolve('softprobe/package.json'));
const native = require(path.join(pkgDir, 'lib', 'native.js'));

assert.equal(require('softprobe/package.json').version, expected, 'package.json version');
assert.equal(softprobe.version, expected, 'core version');
assert.ok(native.addonFile.startsWith(path.join(pkgDir, 'prebuilds', `${process.platform}-${process.arch}`)),
  `the addon loaded is ${native.addonFile}, not the tarball's prebuild`);
assert.ok(fs.existsSync(path.join(pkgDir, 'lib', 'index.d.ts')), 'the TypeScript types ship');
const maps = fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.includes('libsoftprobe'));
for (const line of maps) assert.ok(line.includes(pkgDir), `libsoftprobe mapped from outside the package: ${line}`);
assert.ok(maps.length > 0, 'libsoftprobe.so is mapped');

(async () => {
  const sp = new softprobe.Softprobe({ warnOnStrictMiss: false });
  const session = await sp.startSession({ mode: 'replay', policy: { externalHttp: 'strict' } });
  await session.mockOutbound({
    method: 'GET', host: 'api.example.invalid', path: '/v1/items',
    response: { status: 200, headers: { 'content-type': 'application/json' }, body: '{"items":[1]}' },
  });
  const body = await session.run(async () => {
    const res = await fetch('http://api.example.invalid/v1/items');
    assert.equal(res.status, 200);
    return res.text();
  });
  assert.equal(body, '{"items":[1]}');
  await session.close();
  console.log(`node ${process.version}: softprobe ${softprobe.version} from ${native.addonFile}: mocked fetch answered ${body}`);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
