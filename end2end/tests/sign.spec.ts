// Issue 4, journey 5: scan to sign. The test plays the relying party with plain `fetch` (a
// server-to-server call: HTTP Basic, no Origin), the holder signs on a phone, and the party checks
// the device signature and the platform's attestation with Node's crypto, as docs/signing.md says.
import { createHash, createPublicKey, verify } from 'node:crypto';
import { expect, Page, test } from '@playwright/test';
import { acceptOnPhone, CERT_PASSWORD, continueFromLink, hydrated, issueCertificate, phone, residentId, staffSignIn } from './helpers';

type Party = { clientId: string; secret: string; name: string };

/** Staff register a relying party in the console; returns its client id and secret (shown once). */
async function registerParty(pc: Page, name: string): Promise<Party> {
  await pc.goto('/console');
  await hydrated(pc);
  await pc.getByLabel('系统名称').fill(name);
  await pc.getByRole('button', { name: '登记应用系统' }).click();
  await expect(pc.getByTestId('party-client-secret')).toBeVisible();
  const clientId = (await pc.getByTestId('party-client-id').textContent())!.trim();
  const secret = (await pc.getByTestId('party-client-secret').textContent())!.trim();
  return { clientId, secret, name };
}

/** The relying party's server calling the platform. */
async function rp(baseURL: string, party: Party, path: string, body?: unknown) {
  const auth = Buffer.from(`${party.clientId}:${party.secret}`).toString('base64');
  const res = await fetch(`${baseURL}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { Authorization: `Basic ${auth}`, 'Content-Type': 'application/json', Accept: 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

function digestOf(document: string) {
  const bytes = createHash('sha256').update(document, 'utf8').digest();
  return { b64: bytes.toString('base64url'), hex: bytes.toString('hex').match(/.{4}/g)!.join(' ') };
}

/** Checks an ES256 signature (`r ‖ s`, base64url) over `text` with a P-256 JWK. */
function es256(jwk: { kty: string; crv: string; x: string; y: string }, text: string, signature: string) {
  const key = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, format: 'jwk' });
  return verify('sha256', Buffer.from(text, 'utf8'), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'));
}

test('R12: a party asks, the holder signs on the phone, the party verifies both signatures', async ({ page, browser, baseURL }) => {
  await staffSignIn(page);
  await issueCertificate(page, '北京市签名测试研究院');
  const claim = (await page.getByTestId('claim-link').getAttribute('href'))!;
  const fm = await phone(browser, baseURL!);
  await acceptOnPhone(fm, claim, '张三', residentId(123));
  const party = await registerParty(page, '公共资源交易平台');
  const stranger = await registerParty(page, '另一个应用系统');

  // Bad input is refused field by field; a good request gives the QR's link.
  const bad = await rp(baseURL!, party, '/api/v1/sign/requests', { digest: 'abc', description: '' });
  expect(bad.status).toBe(400);
  expect(bad.json.fields.map((f: { field: string }) => f.field)).toEqual(['digest', 'description']);
  const digest = digestOf('项目合作协议 第1版');
  const asked = await rp(baseURL!, party, '/api/v1/sign/requests', {
    digest: digest.b64,
    description: '签署《项目合作协议》',
    document_name: '项目合作协议.pdf',
  });
  expect(asked.status).toBe(201);
  expect(asked.json.wallet_url).toContain('/wallet/sign?code=');
  const id: string = asked.json.id;
  expect((await rp(baseURL!, party, `/api/v1/sign/requests/${id}`)).json.status).toBe('waiting');
  expect((await rp(baseURL!, stranger, `/api/v1/sign/requests/${id}`)).status).toBe(404);

  // The phone opens the QR's link: who asks, what for, and the digest to compare.
  await fm.goto(asked.json.wallet_url);
  await hydrated(fm);
  // Opened from a link: nothing is scanned until the holder taps on (issue 14 §1).
  await expect(fm.getByTestId('sign-party')).toHaveCount(0);
  expect((await rp(baseURL!, party, `/api/v1/sign/requests/${id}`)).json.status).toBe('waiting');
  await continueFromLink(fm);
  await expect(fm.getByTestId('sign-party')).toHaveText('公共资源交易平台');
  await expect(fm.getByTestId('sign-description')).toHaveText('签署《项目合作协议》');
  await expect(fm.getByTestId('sign-document')).toHaveText('项目合作协议.pdf');
  await expect(fm.getByTestId('sign-digest')).toHaveText(digest.hex);
  await expect.poll(async () => (await rp(baseURL!, party, `/api/v1/sign/requests/${id}`)).json.status).toBe('scanned');
  await fm.getByLabel('证书密码（6位以上）').fill('wrong-password');
  await fm.getByRole('button', { name: '确认签名' }).click();
  await expect(fm.getByRole('alert')).toContainText('证书密码错误，还可尝试5次');
  await fm.getByLabel('证书密码（6位以上）').fill(CERT_PASSWORD);
  await fm.getByRole('button', { name: '确认签名' }).click();
  await expect(fm.getByTestId('sign-outcome')).toContainText('已签名');

  // The party fetches the result and verifies it.
  const done = await rp(baseURL!, party, `/api/v1/sign/requests/${id}`);
  expect(done.status).toBe(200);
  expect(done.json.status).toBe('signed');
  const s = done.json.signature;
  const expected = ['ecert-sign/v1', id, party.clientId, digest.b64, String(s.signed_at)].join('\n');
  expect(s.payload).toBe(expected);
  expect(Math.abs(Date.now() - s.signed_at)).toBeLessThan(5 * 60_000);
  expect(es256(s.public_jwk, expected, s.signature)).toBe(true);
  expect(es256(s.public_jwk, expected + ' ', s.signature)).toBe(false);
  expect(s.signer).toMatchObject({ name: '张*', role: 'first_manager', institution_name: '北京市签名测试研究院' });

  const keys = await (await fetch(`${baseURL}/api/v1/sign/keys`)).json();
  const [h, c, sig] = (s.attestation as string).split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
  const claims = JSON.parse(Buffer.from(c, 'base64url').toString('utf8'));
  expect(header).toMatchObject({ alg: 'ES256', typ: 'ecert-sign-attestation+jwt' });
  const platformKey = keys.keys.find((k: { kid: string }) => k.kid === header.kid);
  expect(platformKey).toBeTruthy();
  expect(es256(platformKey, `${h}.${c}`, sig)).toBe(true);
  expect(claims).toMatchObject({ aud: party.clientId, jti: id, digest: digest.b64, payload: expected, signature: s.signature });
  expect(claims.cnf.jwk).toEqual(s.public_jwk);
  expect(claims.signer).toEqual(s.signer);

  // The code was used once: opening the link again is refused.
  await fm.goto(asked.json.wallet_url);
  await hydrated(fm);
  await continueFromLink(fm);
  await expect(fm.getByRole('alert').filter({ hasText: '二维码已被使用' })).toBeVisible();

  // A second request, rejected on the phone.
  const second = await rp(baseURL!, party, '/api/v1/sign/requests', { digest: digestOf('另一份文件').b64, description: '签署补充协议' });
  await fm.goto(second.json.wallet_url);
  await hydrated(fm);
  await continueFromLink(fm);
  await expect(fm.getByTestId('sign-description')).toHaveText('签署补充协议');
  await fm.getByRole('button', { name: '拒绝' }).click();
  await expect(fm.getByTestId('sign-outcome')).toContainText('已拒绝');
  const rejected = await rp(baseURL!, party, `/api/v1/sign/requests/${second.json.id}`);
  expect(rejected.json).toMatchObject({ status: 'rejected', signature: null });

  // R12: both appear in the holder's own records, naming the party.
  await fm.goto('/wallet');
  await hydrated(fm);
  await fm.getByRole('button', { name: '使用记录' }).click();
  await expect(fm.getByTestId('card-records')).toContainText('扫码签名');
  await expect(fm.getByTestId('card-records').locator('li').filter({ hasText: '公共资源交易平台' })).toHaveCount(2);
});
