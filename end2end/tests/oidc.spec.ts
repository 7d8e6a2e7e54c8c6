// Issue 4, journey 4: an application system (the shipped demo relying party, built on the
// off-the-shelf `openidconnect` crate) logs a user in over OpenID Connect; the login step is the
// platform's PC scan-login page, which names the party and shows a match code that the phone
// shows too (R11, against QR relaying). The ID token carries institution, role and matters.
import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { expect, Page, test } from '@playwright/test';
import { CERT_PASSWORD, continueFromLink, hydrated, pickMatch, staffSignIn, userWithGrant } from './helpers';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Staff register the demo as a relying party in the console; returns its client credentials. */
async function registerDemo(pc: Page, name: string, redirect: string) {
  await pc.goto('/console');
  await hydrated(pc);
  await pc.getByLabel('系统名称').fill(name);
  await pc.getByLabel('回调地址（每行一个，可为空）').fill(redirect);
  await pc.getByRole('button', { name: '登记应用系统' }).click();
  const clientId = (await pc.getByTestId('party-client-id').textContent())!.trim();
  const clientSecret = (await pc.getByTestId('party-client-secret').textContent())!.trim();
  return { clientId, clientSecret };
}

/** Starts the demo relying party binary and waits until it answers. */
async function startDemo(issuer: string, port: number, creds: { clientId: string; clientSecret: string }) {
  const bin = process.env.ECERT_E2E_DEMO_RP_BIN;
  if (!bin) throw new Error('ECERT_E2E_DEMO_RP_BIN is not set (scripts/test builds ecert-demo-rp and sets it)');
  const child = spawn(bin, [], {
    env: {
      ...process.env,
      ECERT_DEMO_ISSUER: issuer,
      ECERT_DEMO_CLIENT_ID: creds.clientId,
      ECERT_DEMO_CLIENT_SECRET: creds.clientSecret,
      ECERT_DEMO_LISTEN: `127.0.0.1:${port}`,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/`)).ok) return child;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error('the demo relying party did not start');
}

let demo: ChildProcess | undefined;
test.afterEach(() => {
  demo?.kill();
  demo = undefined;
});

test('R11 R12: the demo application system logs a user in by OpenID Connect through the scan-login page', async ({ page, browser, baseURL }) => {
  const { user, dash } = await userWithGrant(page, browser, baseURL!, '北京市开放登录研究院');
  const port = await freePort();
  const creds = await registerDemo(page, '示例应用系统', `http://127.0.0.1:${port}/callback`);
  demo = await startDemo(baseURL!, port, creds);

  const pc = await (await browser.newContext()).newPage();
  await pc.goto(`http://127.0.0.1:${port}/`);
  await pc.getByRole('button', { name: '使用法人电子证书登录' }).click();
  // The platform's page names the party and shows the QR with its match code.
  await expect(pc).toHaveURL(new RegExp(`^${baseURL}/oidc/login\\?request=`));
  await hydrated(pc);
  await expect(pc.getByTestId('oidc-party')).toHaveText('示例应用系统');
  const link = (await pc.getByTestId('login-link').getAttribute('href'))!;
  const pcMatch = (await pc.getByTestId('pc-match-code').textContent())!.trim();

  await user.goto(link);
  await hydrated(user);
  await continueFromLink(user);
  await expect(user.getByTestId('login-system')).toHaveText('示例应用系统');
  await expect(user.getByTestId('login-domain')).toHaveText(/^127\.0\.0\.1:\d+$/);
  await pickMatch(user, pcMatch);
  await user.getByLabel('证书密码（6位以上）').fill(CERT_PASSWORD);
  await user.getByRole('button', { name: '确认登录' }).click();
  await expect(user.getByTestId('login-outcome')).toContainText('已确认登录');

  // Back at the party, which verified the ID token against the platform's JWKS.
  await expect(pc.getByTestId('institution')).toHaveText('北京市开放登录研究院');
  await expect(pc.getByTestId('role')).toHaveText('user');
  await expect(pc.getByText('银行开户')).toBeVisible();

  // R12: the institution's records name the party.
  await dash.reload();
  await hydrated(dash);
  await dash.getByLabel('类型').selectOption('login');
  await expect(dash.getByTestId('usage-row').filter({ hasText: '示例应用系统' })).toHaveCount(1);
});

test('R11: a holder who rejects on the phone sends the browser back to the party with access_denied', async ({ page, browser, baseURL }) => {
  const { user } = await userWithGrant(page, browser, baseURL!, '北京市拒绝登录研究院');
  const port = await freePort();
  const creds = await registerDemo(page, '拒绝测试系统', `http://127.0.0.1:${port}/callback`);
  demo = await startDemo(baseURL!, port, creds);

  const pc = await (await browser.newContext()).newPage();
  await pc.goto(`http://127.0.0.1:${port}/login`);
  await hydrated(pc);
  const link = (await pc.getByTestId('login-link').getAttribute('href'))!;
  await user.goto(link);
  await hydrated(user);
  await continueFromLink(user);
  await expect(user.getByTestId('login-system')).toHaveText('拒绝测试系统');
  await user.getByRole('button', { name: '拒绝' }).click();
  await expect(pc.getByText('access_denied')).toBeVisible();
});

test('issue 18 §3: the login page names the application system, and "cancel and return" sends the browser back with access_denied', async ({ page, baseURL, browser }) => {
  await staffSignIn(page);
  const port = await freePort();
  const creds = await registerDemo(page, '取消测试系统', `http://127.0.0.1:${port}/callback`);
  demo = await startDemo(baseURL!, port, creds);

  const pc = await (await browser.newContext()).newPage();
  await pc.goto(`http://127.0.0.1:${port}/login`);
  await hydrated(pc);
  await expect(pc.getByRole('heading', { name: '扫码登录应用系统' })).toBeVisible();
  await expect(pc.getByTestId('oidc-party')).toHaveText('取消测试系统');
  await pc.getByTestId('oidc-cancel').click();
  await expect(pc).toHaveURL(new RegExp(`^http://127\\.0\\.0\\.1:${port}/callback\\?error=access_denied`));
  await expect(pc.getByText('access_denied')).toBeVisible();
});
