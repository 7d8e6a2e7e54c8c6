// A fake SMS gateway for the end-to-end suite (issue 16 §6), speaking the platform's HTTP SMS
// contract (README, "SMS gateway"): POST / with {"id","mobile","template","params"} and the
// header X-Ecert-Signature: t=<ms>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>.
// Test hooks: GET /messages lists what it took (with whether the signature held);
// POST /fail?n=N answers 503 to the next N messages; GET /healthz for Playwright.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';

const port = Number(process.env.ECERT_E2E_SMS_PORT ?? '3109');
const secret = process.env.ECERT_E2E_SMS_SECRET ?? 'e2e-sms-shared-secret-0001';
const messages = [];
let failNext = 0;

function signed(header, body) {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!match) return false;
  const expected = createHmac('sha256', secret).update(`${match[1]}.${body}`).digest();
  return timingSafeEqual(expected, Buffer.from(match[2], 'hex'));
}

createServer((req, res) => {
  const url = new URL(req.url, `http://127.0.0.1:${port}`);
  let body = '';
  req.on('data', (chunk) => { body += chunk; if (body.length > 65536) req.destroy(); });
  req.on('end', () => {
    if (req.method === 'GET' && url.pathname === '/healthz') return res.end('ok');
    if (req.method === 'GET' && url.pathname === '/messages') {
      res.setHeader('content-type', 'application/json');
      return res.end(JSON.stringify(messages));
    }
    if (req.method === 'POST' && url.pathname === '/fail') {
      failNext = Number(url.searchParams.get('n') ?? '1');
      return res.end('ok');
    }
    if (req.method === 'POST' && url.pathname === '/send') {
      const ok = signed(req.headers['x-ecert-signature'], body);
      if (!ok) { res.statusCode = 401; return res.end('bad signature'); }
      if (failNext > 0) { failNext -= 1; res.statusCode = 503; return res.end('gateway busy, try later'); }
      messages.push({ ...JSON.parse(body), at: Date.now() });
      res.setHeader('content-type', 'application/json');
      return res.end('{"ok":true}');
    }
    res.statusCode = 404;
    res.end('not found');
  });
}).listen(port, '127.0.0.1');
