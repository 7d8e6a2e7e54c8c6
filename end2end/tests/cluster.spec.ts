// Issue 17 §1: the journeys through nginx in front of several app servers sharing one PostgreSQL
// database (scripts/cluster, deploy/). The balancer sends requests round robin without
// stickiness, so a journey's requests go to every app server in turn; each journey checks on
// the app servers' own metrics that every one of them served part of it. A journey that passes
// so proves that what it needed (a login QR, a presented code, a removal, a lockout, a rate
// window) is shared, not kept in one process.
import { APIRequestContext, expect, request, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import {
  ADMIN,
  acceptOnPhone,
  approveOnPhone,
  counterPage,
  issueCertificate,
  phone,
  present,
  registerCounter,
  residentId,
  scanLogin,
  staffSignIn,
  userWithGrant,
} from './helpers';

const metrics = (process.env.ECERT_E2E_CLUSTER_METRICS ?? '').split(',').filter(Boolean);
const cluster = process.env.ECERT_E2E_CLUSTER_URL!;
const script = path.resolve(__dirname, '../../scripts/cluster');

/** Each app server's count of answered `/api/` requests (server functions and the JSON API). */
async function apiCounts(): Promise<number[]> {
  return Promise.all(
    metrics.map(async (url) => {
      const text = await (await fetch(url)).text();
      return text
        .split('\n')
        .filter((l) => l.startsWith('ecert_http_requests_total{route="/api/'))
        .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
    }),
  );
}

/** Runs `journey`, then checks that every app server answered part of it. */
async function acrossServers<T>(journey: () => Promise<T>): Promise<T> {
  expect(metrics.length, 'ECERT_E2E_CLUSTER_METRICS names two app servers or more').toBeGreaterThanOrEqual(2);
  const before = await apiCounts();
  const result = await journey();
  const after = await apiCounts();
  after.forEach((n, i) => expect(n - before[i], `app server ${i + 1} served part of the journey`).toBeGreaterThan(0));
  return result;
}

/** A client of the balancer as a relying party's back end is: no browser, no cookie yet. */
async function client(): Promise<APIRequestContext> {
  return request.newContext({ baseURL: cluster, ignoreHTTPSErrors: true, extraHTTPHeaders: { origin: cluster } });
}

/** A staff sign-in as the form posts it; the answer's status. */
async function signIn(api: APIRequestContext, username: string, password: string): Promise<number> {
  const res = await api.post('/api/staff_sign_in', { form: { username, password }, maxRedirects: 0 });
  return res.status();
}

test('every app server publishes the same platform keys, and none commits through a process-local writer', async () => {
  // The app servers themselves (their metrics listeners are 127.0.0.2 on the same ports).
  const servers = metrics.map((m) => new URL(m).port).map((port) => `http://127.0.0.1:${port}`);
  const sets = await Promise.all(servers.map(async (s) => (await fetch(`${s}/oidc/jwks`)).json()));
  expect(sets[0].keys.length).toBeGreaterThan(0);
  for (const set of sets) expect(set).toEqual(sets[0]);
  for (const url of metrics) {
    const text = await (await fetch(url)).text();
    expect(text, 'SQLite\'s group commit is a single process\'s and is off on PostgreSQL').not.toContain('ecert_db_writer_queue');
    expect(text).toContain('ecert_db_connections{state="open"}');
  }
});

test('R11 R3: a scan login started through one app server is scanned, confirmed and polled through the others', async ({ page, browser, baseURL }) => {
  await acrossServers(async () => {
    await staffSignIn(page);
    await issueCertificate(page, '北京市集群登录测试研究院');
    const claim = (await page.getByTestId('claim-link').getAttribute('href'))!;
    const fm = await phone(browser, baseURL!);
    await acceptOnPhone(fm, claim, '张三', residentId(123));
    const pc = await (await browser.newContext({ baseURL })).newPage();
    await scanLogin(pc, fm);
    await pc.reload();
    await expect(pc.getByTestId('dashboard-institution')).toContainText('北京市集群登录测试研究院');
  });
});

test('R10 R15 R8: a code presented through one app server is checked through another, and a removal through one fails it on all at once', async ({ page, browser, baseURL }) => {
  await acrossServers(async () => {
    const { fm, dash, user } = await userWithGrant(page, browser, baseURL!, '北京市集群出示测试研究院');
    const counter = await counterPage(browser, baseURL!, await registerCounter(page, '集群政务服务中心'));
    const { number, link } = await present(user);
    const passerby = await phone(browser, baseURL!);
    await passerby.goto(link);
    await expect(passerby.getByTestId('verified')).toBeVisible();

    await dash.reload();
    await dash.getByTestId('holder-row').filter({ hasText: '赵*' }).getByTestId('remove').click();
    await approveOnPhone(dash, fm, '移除使用人 赵*');
    await expect(dash.getByTestId('holder-row').filter({ hasText: '赵*' })).toHaveCount(0);
    // Every app server answers the same at once: the page twice (two servers in turn), then
    // the counter.
    for (let i = 0; i < metrics.length; i++) {
      await passerby.reload();
      await expect(passerby.getByTestId('check-invalid')).toBeVisible();
    }
    await counter.getByLabel('核验码').fill(number);
    await counter.getByLabel('核验码').press('Enter');
    await expect(counter.getByTestId('verify-invalid')).toBeVisible();
  });
});

test('a lockout and a rate limit reached through one app server hold on all of them', async () => {
  const api = await client();
  await acrossServers(async () => {
    // Five wrong passwords in a row lock the account (issue 14 §4), whichever server took them.
    for (let i = 0; i < 5; i++) expect(await signIn(api, ADMIN.username, 'wrong password')).toBe(401);
    for (let i = 0; i < metrics.length; i++) expect(await signIn(api, ADMIN.username, ADMIN.password)).toBe(429);
  });
  const unlocked = execFileSync(script, ['admin', 'staff', 'unlock', ADMIN.username], { encoding: 'utf8' });
  expect(unlocked).toContain(`unlocked staff member \`${ADMIN.username}\``);

  // 20 sign-ins a minute per client (the sign-ins above among them): counted together, whichever
  // server takes them. Started early in a minute of the clock, so that the window does not turn
  // over in the middle.
  const second = new Date().getUTCSeconds();
  if (second > 30) await new Promise((r) => setTimeout(r, (61 - second) * 1000));
  const nobody = `nobody-${Date.now()}`;
  let answered = 0;
  await acrossServers(async () => {
    while ((await signIn(api, nobody, 'wrong')) === 401) {
      answered++;
      expect(answered, 'the cluster counts one window, not one per app server').toBeLessThanOrEqual(20);
    }
    for (let i = 0; i < metrics.length; i++) expect(await signIn(api, nobody, 'wrong')).toBe(429);
  });
});

test('kill -9 of one app server under load: the balancer moves on, nothing answered is lost, the others serve', async () => {
  const api = await client();
  // Scan logins started while the load runs: each answered one must still be there afterwards.
  const started: APIRequestContext[] = [];
  let killed = false;
  const statuses: number[] = [];
  const load = async (worker: number) => {
    for (let i = 0; i < 60; i++) {
      const res = await api.get(i % 2 ? '/readyz' : '/verify');
      statuses.push(res.status());
      if (worker === 0 && i % 6 === 0) {
        const browserLike = await client();
        const login = await browserLike.post('/api/dashboard_login_start', { form: {} });
        if (login.ok()) started.push(browserLike);
      }
      if (worker === 0 && i === 20 && !killed) {
        killed = true;
        execFileSync(script, ['kill', '2']);
      }
    }
  };
  try {
    await Promise.all([0, 1, 2, 3].map(load));
    expect(killed).toBe(true);
    expect(statuses.filter((s) => s !== 200), 'every GET answered, retried on the other server').toEqual([]);
    expect(started.length).toBeGreaterThanOrEqual(8);
    for (const browserLike of started) {
      const poll = await browserLike.post('/api/dashboard_login_status', { form: {} });
      expect(poll.status()).toBe(200);
      expect(await poll.json()).toBe('waiting');
    }
  } finally {
    execFileSync(script, ['start', '2']);
  }
  // nginx tries a failed server again after its fail_timeout (5 s, deploy/nginx-ecert.conf).
  await new Promise((r) => setTimeout(r, 6000));
  // Back in the rotation: the restarted server answers its share again.
  await acrossServers(async () => {
    for (let i = 0; i < 6; i++) expect((await api.post('/api/system_status', { form: {} })).status()).toBe(200);
  });
});
