// The main job in Node: capture a small app's real traffic (fetch and
// http.get) to a local server, stop the server, replay offline in strict
// mode from the case file, and show a strict miss with the core's
// explanation. Usage: node checkout-demo.js [OUTPUT_DIR]
'use strict';
const http = require('node:http');
const path = require('node:path');
const fs = require('node:fs');
const { Softprobe } = require('../../bindings/node');

// The application under test: prices a cart by calling its dependency.
async function checkout(pricing) {
  const price = await (await fetch(`${pricing}/v1/prices?sku=book-42`)).json();
  const reservation = await new Promise((resolve, reject) => {
    const req = http.request(`${pricing}/v1/reservations`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(body) }));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ sku: 'book-42', qty: 2 }));
  });
  return { total: price.unitPrice * 2, reservation: reservation.body.id, reservationStatus: reservation.status };
}

function step(text) {
  console.log(`\n== ${text}`);
}

async function main() {
  const outDir = process.argv[2] || 'demo-out';
  fs.mkdirSync(outDir, { recursive: true });
  const casePath = path.join(outDir, 'node-checkout.case.json');

  step('1. start the real pricing service on 127.0.0.1');
  let calls = 0;
  const server = http.createServer((req, res) => {
    calls++;
    if (req.url.startsWith('/v1/prices')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ sku: 'book-42', unitPrice: 12.5 }));
    } else {
      req.resume();
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'res_node_1', status: 'held' }));
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const pricing = `http://127.0.0.1:${server.address().port}`;
  console.log(`pricing service at ${pricing}`);

  const softprobe = new Softprobe();
  step('2. capture: run the app against the real service');
  const capture = await softprobe.startSession({ mode: 'capture', caseId: 'node-checkout' });
  const captured = await capture.run(() => checkout(pricing));
  console.log('app result:', JSON.stringify(captured), `(real calls made: ${calls})`);
  step('3. close the capture session: write the case file');
  await capture.close({ out: casePath });
  console.log(`case file: ${casePath}`);

  step('4. stop the real service (replay must not need it)');
  await new Promise((r) => server.close(r));
  const callsBeforeReplay = calls;

  step('5. replay offline in strict mode, from the case file');
  const replay = await softprobe.startSession({ mode: 'replay', policy: { externalHttp: 'strict' } });
  await replay.loadCaseFromFile(casePath);
  for (const [method, p] of [['GET', '/v1/prices'], ['POST', '/v1/reservations']]) {
    const hit = replay.findInCase({ method, path: p });
    await replay.mockOutbound({ method, host: '127.0.0.1', path: p, response: hit.response });
  }
  const replayed = await replay.run(() => checkout(pricing));
  console.log('app result:', JSON.stringify(replayed), `(real calls during replay: ${calls - callsBeforeReplay})`);

  step('6. a call nobody recorded: strict mode fails it loudly');
  const miss = await replay.run(() => fetch(`${pricing}/v1/price?sku=book-42`));
  console.log(`status ${miss.status}, x-softprobe-strict-miss: ${miss.headers.get('x-softprobe-strict-miss')}`);
  const stats = await replay.getStats();
  console.log(`why: ${stats.stats.lastStrictMiss.explanation}`);
  await replay.close();

  const ok = JSON.stringify(captured) === JSON.stringify(replayed) && miss.status === 599 && calls === callsBeforeReplay;
  console.log(`\n${ok ? 'NODE DEMO OK: captured, replayed offline, strict miss reported' : 'NODE DEMO FAILED'}`);
  process.exitCode = ok ? 0 : 1;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
