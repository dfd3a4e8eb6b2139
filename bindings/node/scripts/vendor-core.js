'use strict';
// prepack/postpack: copies the core's sources (CMakeLists.txt, VERSION,
// LICENSE, cmake/, include/, libsoftprobe/) from the checkout into core/ so that a packed
// tarball (npm pack, npm install --install-links <path>) builds on its own;
// `clean` removes the copy again. A checkout builds against ../.. directly.
const fs = require('node:fs');
const path = require('node:path');

const pkg = path.join(__dirname, '..');
const repo = path.join(pkg, '..', '..');
const dest = path.join(pkg, 'core');
const ITEMS = ['CMakeLists.txt', 'VERSION', 'LICENSE', 'cmake', 'include', 'libsoftprobe'];

if (process.argv[2] === 'clean') {
  fs.rmSync(dest, { recursive: true, force: true });
} else {
  if (!fs.existsSync(path.join(repo, 'include', 'softprobe.h'))) {
    console.error(`vendor-core: no libsoftprobe checkout at ${repo}`);
    process.exit(1);
  }
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest);
  for (const item of ITEMS) {
    const from = path.join(repo, item);
    if (fs.existsSync(from)) fs.cpSync(from, path.join(dest, item), { recursive: true });
  }
}
