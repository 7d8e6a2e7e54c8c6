// Reusable flows for the end-to-end suite.
import { Browser, devices, expect, Locator, Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';

export const ADMIN = { username: 'admin', password: 'e2e-admin-password' };

export async function hydrated(page: Page) {
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
}

export async function staffSignIn(page: Page, who: { username: string; password: string } = ADMIN) {
  await page.goto('/console');
  await hydrated(page);
  await page.getByLabel('用户名').fill(who.username);
  await page.getByLabel('密码').fill(who.password);
  await page.getByRole('button', { name: '登录' }).click();
  await expect(page.getByText('已登录：')).toBeVisible();
}

const CREDIT_CHARS = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const CREDIT_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/** A fresh valid unified social credit code (GB 32100-2015) of a public institution. */
export function creditCode(division = '110105'): string {
  let prefix = '12' + division;
  for (let i = 0; i < 9; i++) prefix += CREDIT_CHARS[Math.floor(Math.random() * 31)];
  const sum = [...prefix].reduce((s, c, i) => s + CREDIT_CHARS.indexOf(c) * CREDIT_WEIGHTS[i], 0);
  return prefix + CREDIT_CHARS[(31 - (sum % 31)) % 31];
}

/** A valid resident ID number (GB 11643-1999). */
export function residentId(seq: number): string {
  const prefix = '11010519900101' + String(seq % 1000).padStart(3, '0');
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...prefix].reduce((s, c, i) => s + Number(c) * weights[i], 0);
  return prefix + '10X98765432'[sum % 11];
}

/** Ticks the papers checklist of an issue or a form-2 change (issue 15 §2). */
export async function checkPapers(list: Locator) {
  await list.getByLabel('申请表已签字盖章').check();
  await list.getByLabel('事业单位法人证书副本原件已查验').check();
  await list.getByLabel('第一管理责任人身份证原件及复印件已查验').check();
}

/** Fills the console's issuing form and submits it (staff signed in). */
export async function submitIssue(page: Page, name: string, code: string) {
  await page.getByLabel('统一社会信用代码').fill(code);
  await page.getByLabel('单位名称').fill(name);
  await page.getByLabel('住所').fill('北京市海淀区中关村大街1号');
  await page.getByLabel('姓名', { exact: true }).fill('张三');
  await page.getByLabel('身份证号码', { exact: true }).fill(residentId(123));
  await page.getByLabel('手机号码', { exact: true }).fill('13812345678');
  await checkPapers(page.getByTestId('checklist').first());
  await page.getByRole('button', { name: '核验身份并签发' }).click();
}

/** Issues a certificate from the console (staff signed in); returns its credit code. */
export async function issueCertificate(page: Page, name = '北京市测试研究院', code = creditCode()): Promise<string> {
  await submitIssue(page, name, code);
  await expect(page.getByRole('heading', { name: '电子证书领取单' })).toBeVisible();
  return code;
}

export const CERT_PASSWORD = 'cert-pass-1';

/** A phone: a mobile browser context of its own (its own IndexedDB, so its own device key). */
export async function phone(browser: Browser, baseURL: string): Promise<Page> {
  const context = await browser.newContext({ ...devices['Pixel 7'], baseURL });
  return context.newPage();
}

/** Opens a claim or face-to-face link on a phone and takes up the role. */
export async function acceptOnPhone(p: Page, link: string, name: string, idNumber: string, password = CERT_PASSWORD) {
  await p.goto(link);
  await hydrated(p);
  await expect(p.getByTestId('offer-institution')).toBeVisible();
  await p.getByLabel('姓名').fill(name);
  await p.getByLabel('身份证号码').fill(idNumber);
  await p.getByLabel('证书密码（6位以上）').fill(password);
  await p.getByLabel('再次输入证书密码').fill(password);
  await p.getByLabel('我已阅读并同意下载声明').check();
  await p.locator('form button[type=submit]').click();
  await expect(p.getByTestId('accepted')).toBeVisible();
}

/** The code of the newest SMS of `template` to `mobile` that the fake gateway took since
 *  `since` (epoch ms), waiting for it (issue 16 §6: every server sends through fake-sms.mjs). */
export async function smsCode(mobile: string, template: string, since: number): Promise<string> {
  const gateway = `http://127.0.0.1:${process.env.ECERT_E2E_SMS_PORT ?? '3109'}`;
  type Sms = { mobile: string; template: string; params: { code: string }; at: number };
  const taken = async () =>
    ((await (await fetch(`${gateway}/messages`)).json()) as Sms[])
      .filter((m) => m.at >= since && m.mobile === mobile && m.template === template);
  await expect.poll(async () => (await taken()).length, { timeout: 30_000 }).toBeGreaterThan(0);
  return (await taken()).at(-1)!.params.code;
}

/** R19: opens a re-download link on a new phone and takes the role up again: the SMS code goes
 *  to the holder's registered `mobile` and is typed in with the name and ID number. */
export async function redownloadOnPhone(p: Page, link: string, name: string, idNumber: string, mobile: string) {
  await p.goto(link);
  await hydrated(p);
  await expect(p.getByTestId('offer-institution')).toBeVisible();
  const since = Date.now();
  await p.getByTestId('send-sms').click();
  await expect(p.getByTestId('sms-sent')).toHaveText(`验证码已发送至 ${mobile.slice(0, 3)}****${mobile.slice(7)}`);
  await expect(p.getByTestId('send-sms')).toHaveText(/^\d+秒后可重新发送$/);
  const code = await smsCode(mobile, 'SMS_E2E_REDOWNLOAD', since);
  await p.getByLabel('姓名').fill(name);
  await p.getByLabel('身份证号码').fill(idNumber);
  await p.getByLabel('证书密码（6位以上）').fill(CERT_PASSWORD);
  await p.getByLabel('再次输入证书密码').fill(CERT_PASSWORD);
  await p.getByLabel('短信验证码').fill(code);
  await p.getByLabel('我已阅读并同意下载声明').check();
  await p.locator('form button[type=submit]').click();
  await expect(p.getByTestId('accepted')).toBeVisible();
}

/** A login or sign page opened from a link waits behind a warning and scans nothing until the
 *  holder taps on (issue 14 §1). */
export async function continueFromLink(p: Page) {
  await expect(p.getByTestId('link-warning')).toContainText('不要继续');
  await p.getByTestId('link-continue').click();
}

/** Taps, among the phone's three match codes, the one the PC shows (issue 14 §1). */
export async function pickMatch(p: Page, pcMatch: string) {
  const choices = p.getByTestId('match-choice');
  await expect(choices).toHaveCount(3);
  await choices.filter({ hasText: new RegExp(`^${pcMatch}$`) }).click();
}

/** Scan login: the PC opens the dashboard, the phone opens the QR's link, taps on past the
 *  warning, picks the PC's match code and confirms with the certificate password; the PC is
 *  then signed in. */
export async function scanLogin(pc: Page, p: Page, password = CERT_PASSWORD) {
  await pc.goto('/dashboard');
  await hydrated(pc);
  const link = await pc.getByTestId('login-link').getAttribute('href');
  const pcMatch = (await pc.getByTestId('pc-match-code').textContent())!.trim();
  expect(pcMatch).toMatch(/^\d{2}$/);
  await p.goto(link!);
  await hydrated(p);
  await continueFromLink(p);
  await pickMatch(p, pcMatch);
  await expect(pc.getByTestId('login-state')).toHaveAttribute('data-state', 'scanned');
  await p.getByLabel('证书密码（6位以上）').fill(password);
  await p.getByRole('button', { name: '确认登录' }).click();
  await expect(p.getByTestId('login-outcome')).toContainText('已确认登录');
  await expect(pc.getByTestId('dashboard-institution')).toBeVisible();
}

/** A dashboard write waits for the signed-in holder's own phone (issue 14 §1): the phone opens
 *  the approval link, taps on past the warning, reads the action, picks the dashboard's match
 *  code and approves it with the certificate password; the dashboard then does it. */
export async function approveOnPhone(pc: Page, p: Page, summary?: string, password = CERT_PASSWORD) {
  const panel = pc.getByTestId('approval-panel');
  await expect(panel).toBeVisible();
  const link = (await panel.getByTestId('approval-link').getAttribute('href'))!;
  const dashMatch = (await panel.getByTestId('approval-match-code').textContent())!.trim();
  expect(dashMatch).toMatch(/^\d{2}$/);
  await p.goto(link);
  await hydrated(p);
  await continueFromLink(p);
  if (summary) await expect(p.getByTestId('approval-summary')).toContainText(summary);
  else await expect(p.getByTestId('approval-summary')).toBeVisible();
  await pickMatch(p, dashMatch);
  await p.getByLabel('证书密码（6位以上）').fill(password);
  await p.getByRole('button', { name: '确认执行' }).click();
  await expect(p.getByTestId('approval-outcome')).toContainText('已确认');
  await expect(panel).toHaveCount(0);
}

/** Today in China Standard Time, `YYYY-MM-DD`, plus `days`. */
export function cstDay(days = 0): string {
  return new Date(Date.now() + 8 * 3600_000 + days * 86400_000).toISOString().slice(0, 10);
}

/** A claimed certificate with a user (granted 银行开户 for 30 days) on a phone of its own. */
export async function userWithGrant(pc: Page, browser: Browser, baseURL: string, name: string, matter = '银行开户') {
  await staffSignIn(pc);
  await issueCertificate(pc, name);
  const claim = (await pc.getByTestId('claim-link').getAttribute('href'))!;
  const fm = await phone(browser, baseURL);
  await acceptOnPhone(fm, claim, '张三', residentId(123));
  const dash = await (await browser.newContext({ baseURL })).newPage();
  await scanLogin(dash, fm);
  const form = dash.getByTestId('add-user');
  await form.getByLabel('姓名').fill('赵六');
  await form.getByLabel('身份证号码').fill(residentId(40));
  await form.getByLabel('手机号码').fill('13912345678');
  await form.getByLabel(matter).check();
  await form.getByLabel('开始日期').fill(cstDay());
  await form.getByLabel('结束日期').fill(cstDay(30));
  await form.locator('button[type=submit]').click();
  await approveOnPhone(dash, fm, '添加使用人：赵*');
  const link = (await dash.getByTestId('accept-link').getAttribute('href'))!;
  const user = await phone(browser, baseURL);
  await acceptOnPhone(user, link, '赵六', residentId(40));
  return { fm, dash, user };
}

/** Runs `ecert-server ARGS…` (a command of the admin command line) against the database of the
 *  test's project, as an operator would on the server; answers what it printed. */
export function serverCommand(project: string, args: string[]): string {
  const workDir = process.env.ECERT_E2E_WORKDIR ?? '/tmp/ecert-e2e';
  const databaseUrl = project === 'postgres' ? process.env.ECERT_E2E_POSTGRES_URL! : `sqlite:${workDir}/e2e.db`;
  return execFileSync(process.env.ECERT_E2E_SERVER_BIN!, args, {
    encoding: 'utf8',
    env: { ...process.env, DATABASE_URL: databaseUrl, ECERT_DATA_KEY_FILE: `${workDir}/data-${project}.key`, ECERT_LOG: 'warn' },
  });
}

/** The holder opens the wallet's present page and asks for a code with the certificate password
 *  (what the code is, or why there is none, is the caller's to check). */
export async function askToPresent(p: Page) {
  await p.goto('/wallet');
  await hydrated(p);
  await p.getByTestId('present-button').click();
  await hydrated(p);
  await p.getByLabel('证书密码（6位以上）').fill(CERT_PASSWORD);
  await p.getByRole('button', { name: '生成出示码' }).click();
}

/** Staff register a relying party with one counter in the console; returns its sign-in. */
export async function registerCounter(pc: Page, party: string): Promise<{ username: string; password: string }> {
  await pc.goto('/console');
  await hydrated(pc);
  await pc.getByLabel('系统名称').fill(party);
  await pc.getByRole('button', { name: '登记应用系统' }).click();
  await expect(pc.getByTestId('party-client-secret')).toBeVisible();
  const card = pc.getByTestId('party').filter({ hasText: party });
  await card.getByLabel('柜台名称').fill('一号窗口');
  await card.getByRole('button', { name: '添加柜台' }).click();
  const username = (await pc.getByTestId('counter-username').textContent())!.trim();
  const password = (await pc.getByTestId('counter-password').textContent())!.trim();
  return { username, password };
}

/** A counter's browser, signed in to the verifier page. */
export async function counterPage(browser: Browser, baseURL: string, login: { username: string; password: string }) {
  const page = await (await browser.newContext({ baseURL })).newPage();
  await page.goto('/verify');
  await page.getByLabel('用户名').fill(login.username);
  await page.getByLabel('密码').fill(login.password);
  await page.getByRole('button', { name: '登录' }).click();
  await expect(page.getByTestId('counter-name')).toContainText('一号窗口');
  return page;
}

/** The user shows the certificate: QR, barcode and number with a countdown. */
export async function present(user: Page) {
  await askToPresent(user);
  await expect(user.getByTestId('present-number')).toHaveText(/^\d{4} \d{4} \d{4} \d{4}$/);
  await expect(user.getByTestId('present-barcode').locator('svg')).toBeVisible();
  await expect(user.getByTestId('present-link').locator('svg')).toBeVisible();
  await expect(user.getByTestId('present-countdown')).toContainText(/剩余有效时间 (29\d|300) 秒/);
  return {
    number: (await user.getByTestId('present-number').textContent())!.trim(),
    link: (await user.getByTestId('present-link').getAttribute('href'))!,
  };
}
