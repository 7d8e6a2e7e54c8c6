// Issue 18 §3: the directory change feed for provincial platforms. An administrator subscribes
// the provincial licence library in the console with a webhook; the library's subscriber is
// killed while certificates are issued, and once restarted it receives every event at least
// once, in order, nothing missing — the same events it can pull, each push signed as the
// Standard Webhooks convention says and each pulled page signed by the platform.
import { expect, test } from '@playwright/test';
import { createHmac } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { hydrated, issueCertificate, staffSignIn } from './helpers';

type Delivery = { id: string; timestamp: string; signature: string; body: string };

/** A webhook subscriber on `port` (0: any) recording what it takes. */
function subscriber(port: number, log: Delivery[]): Promise<Server> {
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      log.push({
        id: String(req.headers['webhook-id']),
        timestamp: String(req.headers['webhook-timestamp']),
        signature: String(req.headers['webhook-signature']),
        body,
      });
      res.writeHead(204).end();
    });
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

type Event = { seq: number; kind: string; credit_code: string; name: string; legal_rep_name: string };

function eventsOf(log: Delivery[]): Event[] {
  return log.flatMap((d) => JSON.parse(d.body).data.events as Event[]);
}

test('a provincial platform subscribed in the console receives every event by webhook, in order, after being down', async ({
  page,
  request,
}) => {
  test.setTimeout(180_000);
  const log: Delivery[] = [];
  let server = await subscriber(0, log);
  const port = (server.address() as AddressInfo).port;

  await staffSignIn(page);
  const party = `省电子证照库${Date.now()}`;
  await page.getByLabel('系统名称').fill(party);
  await page.getByRole('button', { name: '登记应用系统' }).click();
  const clientId = (await page.getByTestId('party-client-id').textContent())!.trim();
  const clientSecret = (await page.getByTestId('party-client-secret').textContent())!.trim();
  const card = page.getByTestId('party').filter({ hasText: party });
  await card.getByLabel('推送地址（Webhook，不填则仅拉取）').fill(`http://127.0.0.1:${port}/hooks/ecert`);
  await card.getByTestId('directory-subscribe').click();
  const secret = (await page.getByTestId('webhook-secret-value').textContent())!.trim();
  expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
  await expect(card.getByTestId('directory-subscribed')).toContainText(`127.0.0.1:${port}`);

  // A certificate issued now reaches the subscriber within moments.
  const first = await issueCertificate(page, '北京市目录推送研究院');
  await expect.poll(() => eventsOf(log).some((e) => e.credit_code === first), { timeout: 30_000 }).toBe(true);

  // The subscriber goes down; two more are issued meanwhile, and staff see the failure.
  await stop(server);
  await page.goto('/console');
  await hydrated(page);
  const second = await issueCertificate(page, '北京市目录推送二院');
  await page.goto('/console');
  await hydrated(page);
  const third = await issueCertificate(page, '北京市目录推送三院');
  await expect(async () => {
    await page.goto('/console');
    await hydrated(page);
    await expect(card.getByTestId('webhook-failing')).toBeVisible({ timeout: 2_000 });
  }).toPass({ timeout: 60_000 });
  expect(eventsOf(log).some((e) => e.credit_code === second)).toBe(false);

  // Back on the same port: what it missed arrives at the next attempt, in order.
  server = await subscriber(port, log);
  await expect
    .poll(() => [second, third].every((c) => eventsOf(log).some((e) => e.credit_code === c)), { timeout: 90_000 })
    .toBe(true);
  await stop(server);

  // Every push is signed with the secret shown once.
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  for (const d of log) {
    const mac = createHmac('sha256', key).update(`${d.id}.${d.timestamp}.${d.body}`).digest('base64');
    expect(d.signature).toBe(`v1,${mac}`);
  }
  // In order: each page's events follow each other, and a page starts after the last one
  // delivered — or repeats a page from the same cursor (at least once), never an older one.
  let previous = -1;
  for (const d of log) {
    const seqs = (JSON.parse(d.body).data.events as Event[]).map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const from = Number(d.id.split('_').pop());
    expect(from).toBeGreaterThanOrEqual(previous);
    expect(seqs[0]).toBeGreaterThan(from);
    previous = from;
  }
  const pushed = [...new Set(eventsOf(log).map((e) => e.seq))];
  expect(pushed).toEqual([...pushed].sort((a, b) => a - b));
  const ours = [...new Map(eventsOf(log).filter((e) => [first, second, third].includes(e.credit_code)).map((e) => [e.seq, e])).values()];
  expect(ours.map((e) => e.credit_code)).toEqual([first, second, third]);
  expect(ours.every((e) => e.kind === 'issued' && e.legal_rep_name === '张*')).toBe(true);

  // ...and nothing is missing: they are exactly the events the library can pull, up to the last.
  const auth = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;
  let after = 0;
  const pulled: number[] = [];
  for (;;) {
    const r = await request.get(`/api/v1/directory/events?after=${after}&limit=500`, { headers: { authorization: auth } });
    expect(r.status()).toBe(200);
    expect(r.headers()['ecert-signature']).toMatch(/^[\w-]+\.\.[\w-]+$/);
    const pageOf = await r.json();
    pulled.push(...pageOf.events.map((e: Event) => e.seq));
    after = pageOf.next_after;
    if (!pageOf.more) break;
  }
  const last = pushed[pushed.length - 1];
  expect(pulled.filter((s) => s <= last)).toEqual(pushed);
});

test('the application-scenario list shows what an administrator published, and nothing else', async ({ page, browser, baseURL }) => {
  await staffSignIn(page);
  const party = `某银行对公业务系统${Date.now()}`;
  await page.getByLabel('系统名称').fill(party);
  await page.getByRole('button', { name: '登记应用系统' }).click();
  await expect(page.getByTestId('party-client-secret')).toBeVisible();
  const card = page.getByTestId('party').filter({ hasText: party });
  // Published without saying what for: refused, nothing shown.
  await card.getByLabel('在应用场景清单中公布').check();
  await card.getByTestId('scenario-save').click();
  await expect(page.getByRole('alert').filter({ hasText: '可办理事项' })).toBeVisible();
  await card.getByLabel('可办理事项').fill('单位银行账户开立；预留信息变更');
  await card.getByLabel('办理地点或网址').fill('北京市西城区金融大街1号');
  await card.getByLabel('服务指南').fill('携带经办人身份证到网点。\n在柜面出示电子证书，柜员扫码核验。');
  await card.getByTestId('scenario-save').click();
  await expect(card.getByTestId('scenario-published')).toBeVisible();

  // Anyone, signed in or not, reads it on the public list.
  const visitor = await (await browser.newContext({ baseURL })).newPage();
  await visitor.goto('/scenarios');
  await expect(visitor.getByRole('heading', { name: '应用场景清单', level: 1 })).toBeVisible();
  const shown = visitor.getByTestId('scenario').filter({ hasText: party });
  await expect(shown.getByTestId('scenario-services')).toHaveText('单位银行账户开立；预留信息变更');
  await expect(shown.getByTestId('scenario-guide')).toContainText('柜员扫码核验');
  await expect(shown).toContainText('北京市西城区金融大街1号');

  // Withdrawn in the console: gone from the list.
  await card.getByLabel('在应用场景清单中公布').uncheck();
  await card.getByTestId('scenario-save').click();
  await expect(card.getByTestId('scenario-published')).toHaveCount(0);
  await visitor.reload();
  await expect(visitor.getByRole('heading', { name: '应用场景清单', level: 1 })).toBeVisible();
  await expect(visitor.getByTestId('scenario').filter({ hasText: party })).toHaveCount(0);
});
