// What a first visit to each surface downloads from /pkg/ (WASM, JavaScript, CSS), as Chromium
// with an empty cache fetches it until the page is hydrated. Prints one JSON object: surface ->
// the /pkg/ file names fetched. scripts/size adds up their sizes (raw and as served).
//
// Usage: node first-visit.mjs http://127.0.0.1:PORT
import { chromium } from '@playwright/test';

const base = process.argv[2];
if (!base) {
  console.error('usage: node first-visit.mjs BASE_URL');
  process.exit(2);
}

// The wallet's pages are what a phone opens from a QR or a link; codes that do not exist still
// load the page and its code (the page then says the code is unknown).
const surfaces = {
  'home': '/',
  'console': '/console',
  'dashboard': '/dashboard',
  'verifier': '/verify',
  'check': '/check?t=size-probe',
  'oidc': '/oidc/login?request=size-probe',
  'wallet': '/wallet',
  'wallet/claim': '/wallet/claim?code=size-probe',
  'wallet/accept': '/wallet/accept?code=size-probe',
  'wallet/present': '/wallet/present',
  'wallet/login': '/wallet/login?code=size-probe',
  'wallet/sign': '/wallet/sign?code=size-probe',
};

const browser = await chromium.launch({
  executablePath: process.env.ECERT_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const out = {};
let failed = false;
for (const [name, path] of Object.entries(surfaces)) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const files = new Set();
  page.on('response', (r) => {
    const url = new URL(r.url());
    if (url.pathname.startsWith('/pkg/')) files.add(url.pathname.slice('/pkg/'.length));
  });
  await page.goto(base + path);
  try {
    await page.waitForSelector('body[data-hydrated="true"]', { timeout: 30_000 });
  } catch {
    console.error(`${name}: not hydrated within 30 s`);
    failed = true;
  }
  out[name] = [...files].sort();
  await context.close();
}
await browser.close();
console.log(JSON.stringify(out));
process.exit(failed ? 1 : 0);
