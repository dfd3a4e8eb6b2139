'use strict';
// The shipped TypeScript declarations name every runtime export, and nothing
// that is not exported.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const softprobe = require('..');
const pkg = require('../package.json');

test('index.d.ts declares exactly the runtime exports', () => {
  const dts = fs.readFileSync(path.join(__dirname, '..', pkg.types), 'utf8');
  const declared = new Set();
  for (const m of dts.matchAll(/^export (?:declare )?(?:class|function|const) (\w+)/gm)) declared.add(m[1]);
  assert.deepEqual([...declared].sort(), Object.keys(softprobe).sort());
});

test('every error class is a SoftprobeError and an Error', () => {
  for (const name of ['RuntimeError', 'UnknownSessionError', 'RuntimeUnreachableError', 'CaseLookupError', 'CaseLoadError', 'InvalidRuleError', 'StrictMissError']) {
    const e = new softprobe[name]('m');
    assert.ok(e instanceof softprobe.SoftprobeError, name);
    assert.ok(e instanceof Error, name);
    assert.equal(e.name, name);
  }
});
