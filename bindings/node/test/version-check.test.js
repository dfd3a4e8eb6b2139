'use strict';
// The load-time version check can fail. Built against an existing core build
// (SOFTPROBE_CORE_BUILD, as scripts/test.sh does), the addon links
// libsoftprobe.so through an rpath whose first entry is $ORIGIN. A copy of
// the addon next to a stand-in libsoftprobe.so that reports version 9.9.0
// (and an ABI that serves no one) must refuse to load, naming both versions.
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const native = require('../lib/native');
const { tmpDir } = require('./support');

// The NEEDED entry naming libsoftprobe (its SONAME), or undefined when the core is linked in.
function neededCore(file) {
  const dyn = execFileSync('readelf', ['-d', file], { encoding: 'utf8' });
  const m = /\(NEEDED\)\s+Shared library: \[(libsoftprobe\.so[^\]]*)\]/.exec(dyn);
  return m ? m[1] : undefined;
}

// A libsoftprobe.so that defines every sp_* function the addon imports: the
// three version functions report 9.9.0 and refuse every ABI; the rest abort.
function buildStandIn(dir, addon, soname) {
  const imported = execFileSync('nm', ['-D', '--undefined-only', addon], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim().split(/\s+/).pop())
    .filter((n) => n && /^sp_\w+$/.test(n));
  const versions = new Set(['sp_version_number', 'sp_version_string', 'sp_abi_compatible']);
  let c = '#include <stdlib.h>\n';
  c += 'unsigned sp_version_number(void) { return 90900; }\n';
  c += 'const char *sp_version_string(void) { return "9.9.0"; }\n';
  c += 'int sp_abi_compatible(unsigned major, unsigned minor) { (void)major; (void)minor; return 0; }\n';
  for (const name of imported) if (!versions.has(name)) c += `void ${name}(void) { abort(); }\n`;
  const src = path.join(dir, 'standin.c');
  fs.writeFileSync(src, c);
  execFileSync('cc', ['-shared', '-fPIC', `-Wl,-soname,${soname}`, '-o', path.join(dir, soname), src]);
  return imported;
}

// The libsoftprobe.so this process loaded with the addon (null when the core is linked in).
function loadedCore() {
  const line = fs.readFileSync('/proc/self/maps', 'utf8').split('\n').find((l) => /\/libsoftprobe\.so[.\d]*$/.test(l));
  return line ? line.slice(line.indexOf('/')) : null;
}

const linked = neededCore(native.addonFile);
const skip =
  linked || process.env.SOFTPROBE_CORE_BUILD
    ? false
    : 'the addon links the core statically (built without SOFTPROBE_CORE_BUILD), so its core cannot differ';

test('built with SOFTPROBE_CORE_BUILD, the addon links libsoftprobe.so instead of compiling the core', {
  skip: process.env.SOFTPROBE_CORE_BUILD ? false : 'SOFTPROBE_CORE_BUILD is not set',
}, () => {
  assert.ok(linked, `${native.addonFile} has no NEEDED libsoftprobe.so: the core was compiled into it`);
  assert.match(linked, /^libsoftprobe\.so\.\d+/);
  assert.equal(native.versionNumber(), native.builtForVersionNumber);
});

test('the addon refuses a libsoftprobe.so whose ABI does not serve it, naming both versions', { skip }, () => {
  assert.ok(linked, `${native.addonFile} has no NEEDED libsoftprobe.so`);
  const real = loadedCore();
  assert.ok(real, 'no libsoftprobe.so is mapped in this process');
  const dir = tmpDir();
  try {
    const addon = path.join(dir, 'softprobe.node');
    fs.copyFileSync(native.addonFile, addon);
    const imported = buildStandIn(dir, addon, linked);
    assert.ok(imported.includes('sp_abi_compatible'), 'the addon does not call sp_abi_compatible');
    const r = spawnSync(process.execPath, ['-e', 'require(process.argv[1])', addon], {
      encoding: 'utf8',
      env: { ...process.env, LD_LIBRARY_PATH: '' },
    });
    assert.notEqual(r.status, 0, `the addon loaded against the stand-in core: ${r.stdout}`);
    assert.match(r.stderr, /the loaded core is version 9\.9\.0 \(/);
    assert.ok(r.stderr.includes(path.join(dir, linked)), `the error does not name the library file: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`built for ${native.versionString().replace(/\./g, '\\.')}`));

    // The same copy beside the real library loads: the failure above is the version check's.
    fs.rmSync(path.join(dir, linked));
    fs.copyFileSync(real, path.join(dir, linked));
    const ok = spawnSync(process.execPath, ['-e', 'console.log(require(process.argv[1]).versionString())', addon], {
      encoding: 'utf8',
    });
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), native.versionString());
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
