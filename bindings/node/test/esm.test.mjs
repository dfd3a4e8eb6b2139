// ESM named imports of node:http are live bindings: the package keeps them in
// sync (module.syncBuiltinESMExports), so `import { get } from 'node:http'`
// is intercepted too.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Softprobe } from '../lib/index.js';
import { get } from 'node:http';

test('ESM: import { get } from "node:http" is intercepted', async () => {
  const s = await new Softprobe().startSession({ mode: 'replay', policy: { externalHttp: 'strict' } });
  await s.mockOutbound({ host: 'esm.example.com', response: { status: 200, body: 'from esm' } });
  try {
    const body = await s.run(
      () =>
        new Promise((resolve, reject) => {
          get('http://esm.example.com/x', (res) => {
            let b = '';
            res.setEncoding('utf8');
            res.on('data', (d) => (b += d));
            res.on('end', () => resolve(b));
          }).on('error', reject);
        })
    );
    assert.equal(body, 'from esm');
  } finally {
    await s.close();
  }
});
