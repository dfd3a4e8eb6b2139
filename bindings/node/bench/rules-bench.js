'use strict';
// Rule-count and setup benchmark (issue 15), each scenario in its own child
// process, median of --rounds:
//  - "decide": mocked fetch GETs (small JSON body, read fully) with 1 or
//    10,000 rules on one host, each with its own pathPrefix; the hit is the
//    rule in the middle;
//  - "setup": N mockOutbound calls of one rule each on a fresh session,
//    embedded, and remote against a softprobe-runtime started on 127.0.0.1
//    (SOFTPROBE_RUNTIME_BIN, default ../../../build/runtime-server/softprobe-runtime).
//
//   cd bindings/node/bench && node rules-bench.js [--rounds 3] [--remote-n 1000]
const { execFileSync, spawn } = require('node:child_process');
const path = require('node:path');

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}

const HOST = 'api.example.com';
const BODY_TEXT = JSON.stringify({ items: [{ id: 1 }], total: 1 });
const prefixRule = (i) => ({
  method: 'GET',
  host: HOST,
  pathPrefix: `/items/${i}/`,
  response: { status: 200, headers: { 'content-type': 'application/json' }, body: BODY_TEXT },
});

function startRuntime() {
  const bin =
    process.env.SOFTPROBE_RUNTIME_BIN || path.join(__dirname, '../../../build/runtime-server/softprobe-runtime');
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['--port', '0', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ url: out.slice(0, nl).trim(), stop: () => child.kill() });
    });
    child.on('exit', (code) => reject(new Error(`softprobe-runtime exited (${code}) before listening`)));
  });
}

// ---- one measurement (child process) -------------------------------------

async function decide(rules, n) {
  const { Softprobe } = require('..');
  const s = await new Softprobe().startSession({ mode: 'replay', policy: { externalHttp: 'strict' } });
  for (let i = 0; i < rules; i++) await s.mockOutbound(prefixRule(i));
  const url = `http://${HOST}/items/${rules >> 1}/detail`;
  return s.run(async () => {
    const once = async () => {
      const r = await fetch(url);
      if ((await r.json()).total !== 1) throw new Error('bad body');
    };
    for (let i = 0; i < 2000; i++) await once();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await once();
    return Number(process.hrtime.bigint() - t0) / 1000 / n; // us per request
  });
}

async function setup(mode, n) {
  const { Softprobe } = require('..');
  const rt = mode === 'remote' ? await startRuntime() : null;
  try {
    const sp = rt ? new Softprobe({ baseUrl: rt.url }) : new Softprobe();
    const s = await sp.startSession({ mode: 'replay' });
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await s.mockOutbound(prefixRule(i));
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if ((await s.dumpRules()).rules.length !== n) throw new Error('rules lost');
    await s.close();
    return ms; // ms for all n calls
  } finally {
    if (rt) rt.stop();
  }
}

// ---- the scenarios (parent) -----------------------------------------------

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function main() {
  const rounds = Number(arg('rounds', 3));
  const remoteN = Number(arg('remote-n', 1000));
  const scenarios = [
    ['decide', 1, 20000, 'us/request'],
    ['decide', 10000, 20000, 'us/request'],
    ['setup', 'embedded', 1000, 'ms total'],
    ['setup', 'embedded', 10000, 'ms total'],
    ['setup', 'remote', 100, 'ms total'],
    ['setup', 'remote', remoteN, 'ms total'],
  ];
  const lines = [`median of ${rounds} rounds (node ${process.version})`, '', '| scenario | result | runs |', '|---|---|---|'];
  for (const [kind, a, n, unit] of scenarios) {
    const runs = [];
    for (let r = 0; r < rounds; r++) {
      const out = execFileSync(process.execPath, [__filename, '--child', kind, String(a), String(n)], {
        encoding: 'utf8',
      });
      runs.push(Number(out.trim()));
    }
    const label = kind === 'decide' ? `fetch, ${a} same-host pathPrefix rule(s)` : `${n} mockOutbound calls, ${a}`;
    lines.push(`| ${label} | ${median(runs).toFixed(1)} ${unit} | ${runs.map((x) => x.toFixed(1)).join(', ')} |`);
    process.stderr.write(`${lines[lines.length - 1]}\n`);
  }
  console.log(lines.join('\n'));
}

if (process.argv[2] === '--child') {
  const [kind, a, n] = process.argv.slice(3);
  const run = kind === 'decide' ? decide(Number(a), Number(n)) : setup(a, Number(n));
  run.then(
    (v) => {
      process.stdout.write(`${v}\n`);
      process.exit(0);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    }
  );
} else {
  main();
}
