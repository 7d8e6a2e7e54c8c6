// Issue 4, journeys 1-3 and 7: a user shows the certificate on its phone (R9), a counter of a
// registered relying party checks the number or the barcode (R10, R12), any phone opens the QR's
// public check page, and removal makes every code fail at once (R15).
import { expect, test } from '@playwright/test';
import {
  approveOnPhone,
  counterPage,
  cstDay,
  hydrated,
  phone,
  present,
  registerCounter,
  residentId,
  staffSignIn,
  userWithGrant,
} from './helpers';

test('R9 R10 R12: a user shows the certificate, a counter checks the number once, any phone opens the QR', async ({ page, browser, baseURL }) => {
  const { dash, user } = await userWithGrant(page, browser, baseURL!, '北京市出示测试研究院');
  const counter = await counterPage(browser, baseURL!, await registerCounter(page, '工商银行海淀支行'));
  const { number, link } = await present(user);

  // A scanner gun types the barcode's digits and presses Enter.
  const field = counter.getByLabel('核验码');
  await field.fill(number.replaceAll(' ', ''));
  await field.press('Enter');
  await expect(counter.getByTestId('verified-institution')).toHaveText('北京市出示测试研究院');
  await expect(counter.getByTestId('verified-role')).toHaveText('使用人');
  // R18: the counter sees the full name and the ID number's last four, to compare with the ID
  // card, and the server's time of the check.
  await expect(counter.getByTestId('verified-holder')).toContainText('赵六');
  await expect(counter.getByTestId('verified-holder')).toContainText(`**************${residentId(40).slice(-4)}`);
  await expect(counter.getByTestId('verified-holder')).not.toContainText(residentId(40).slice(0, 6));
  await expect(counter.getByTestId('verified-checked-at')).toHaveText(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(CST\)$/);
  await expect(counter.getByTestId('verified-matters')).toContainText('银行开户');
  await expect(counter.getByTestId('verified-period')).toHaveText(`${cstDay()} ~ ${cstDay(30)}`);
  // The number works once, and a wrong one shows nothing but "invalid or expired".
  await expect(field).toHaveValue('');
  await field.fill(number);
  await field.press('Enter');
  await expect(counter.getByTestId('verify-invalid')).toHaveText('无效或已过期');
  await expect(counter.getByTestId('verified')).toHaveCount(0);

  // Any phone camera opens the QR's link: no sign-in, masked data.
  const passerby = await phone(browser, baseURL!);
  await passerby.goto(link);
  await expect(passerby.getByTestId('verified-institution')).toHaveText('北京市出示测试研究院');
  await expect(passerby.getByTestId('verified-holder')).toContainText('赵*');
  await expect(passerby.getByTestId('verified-holder')).not.toContainText('赵六');
  await expect(passerby.getByTestId('verified-checked-at')).toBeVisible();

  // Refreshing makes a new set and voids the old QR.
  await user.getByRole('button', { name: '刷新' }).click();
  await expect(user.getByTestId('present-number')).not.toHaveText(number);
  await passerby.reload();
  await expect(passerby.getByTestId('check-invalid')).toHaveText('无效或已过期');

  // R12: the user sees its own records in the wallet.
  await user.goto('/wallet');
  await hydrated(user);
  await user.getByRole('button', { name: '使用记录' }).click();
  await expect(user.getByTestId('card-records')).toContainText('工商银行海淀支行 · 一号窗口');
  await expect(user.getByTestId('card-records')).toContainText('公开核验页');

  // R7 R12: the first manager's dashboard lists the usage records, filters them and exports CSV.
  await dash.reload();
  await hydrated(dash);
  const rows = dash.getByTestId('usage-row');
  await expect(rows.filter({ hasText: '工商银行海淀支行 · 一号窗口' })).toHaveCount(1);
  await expect(rows.filter({ hasText: '公开核验页' })).toHaveCount(1);
  await expect(rows.filter({ hasText: '管理人后台' })).toHaveCount(1);
  await dash.getByLabel('类型').selectOption('login');
  await expect(rows).toHaveCount(1);
  await expect(rows).toContainText('扫码登录');
  await dash.getByRole('button', { name: '导出CSV' }).click();
  const csv = decodeURIComponent((await dash.getByTestId('csv-link').getAttribute('href'))!.split(',')[1]);
  // Issue 16 §7: headers and values in the reader's language.
  expect(csv).toContain('时间（北京时间）,类型,应用系统,结果,持证人,角色');
  expect(csv).toContain(',扫码登录,管理人后台,已确认,');
  expect(csv.trim().split('\n')).toHaveLength(2);
});

test('R15: removing the user fails its live codes at once', async ({ page, browser, baseURL }) => {
  const { fm, dash, user } = await userWithGrant(page, browser, baseURL!, '北京市吊销测试研究院');
  const counter = await counterPage(browser, baseURL!, await registerCounter(page, '政务服务中心'));
  const { number, link } = await present(user);
  const passerby = await phone(browser, baseURL!);
  await passerby.goto(link);
  await expect(passerby.getByTestId('verified')).toBeVisible();

  await dash.reload();
  await dash.getByTestId('holder-row').filter({ hasText: '赵*' }).getByTestId('remove').click();
  await approveOnPhone(dash, fm, '移除使用人 赵*');
  await expect(dash.getByTestId('holder-row').filter({ hasText: '赵*' })).toHaveCount(0);
  await passerby.reload();
  await expect(passerby.getByTestId('check-invalid')).toBeVisible();
  await counter.getByLabel('核验码').fill(number);
  await counter.getByLabel('核验码').press('Enter');
  await expect(counter.getByTestId('verify-invalid')).toBeVisible();
});

test('a counter that signs in before the page hydrates is let in (a plain form post)', async ({ page, browser, baseURL }) => {
  await staffSignIn(page);
  const login = await registerCounter(page, '未水合柜台中心');
  // No WASM: the page never hydrates, so the form posts as plain HTML. The browser sends Origin
  // (and Referer) only as the referrer policy allows, and the server refuses writes whose Origin
  // is not its own: with `no-referrer` this post carried `Origin: null` and was refused.
  const context = await browser.newContext({ baseURL });
  await context.route('**/*.wasm', (route) => route.abort());
  const counter = await context.newPage();
  await counter.goto('/verify');
  await counter.getByLabel('用户名').fill(login.username);
  await counter.getByLabel('密码').fill(login.password);
  await counter.getByRole('button', { name: '登录' }).click();
  await expect(counter.getByTestId('counter-name')).toContainText('一号窗口');
  await expect(counter.locator('body')).not.toHaveAttribute('data-hydrated', 'true');
  await context.close();
});

test('issue 16 §8: a wallet checks another holder\'s presented number without using it up', async ({ page, browser, baseURL }) => {
  const { fm, user } = await userWithGrant(page, browser, baseURL!, '北京市条码核验研究院');
  const { number } = await present(user);
  // The first manager's phone reads the user's barcode (here: types the digits under it).
  await fm.goto('/wallet');
  await hydrated(fm);
  const check = fm.getByTestId('check-others');
  await check.getByLabel('对方的数字码').fill(number);
  await check.getByRole('button', { name: '核验' }).click();
  await expect(check.getByTestId('verified-institution')).toHaveText('北京市条码核验研究院');
  await expect(check.getByTestId('verified-role')).toHaveText('使用人');
  await expect(check.getByTestId('verified-holder')).toContainText('赵*');
  // Still good for the counter it was shown to: checking again in the wallet works too.
  await check.getByRole('button', { name: '核验' }).click();
  await expect(check.getByTestId('verified-institution')).toHaveText('北京市条码核验研究院');
  await check.getByLabel('对方的数字码').fill('0000 0000 0000 0000');
  await check.getByRole('button', { name: '核验' }).click();
  await expect(check.getByTestId('check-others-error')).toHaveText('无效或已过期');
  await check.getByLabel('对方的数字码').fill('1234');
  await check.getByRole('button', { name: '核验' }).click();
  await expect(check.getByTestId('check-others-error')).toHaveText('数字码应为16位数字');
});

test('issue 18 §2, R18: a counter\'s own system verifies through the API and sees the full name to compare, once', async ({ page, browser, baseURL, request }) => {
  const { user } = await userWithGrant(page, browser, baseURL!, '北京市接口核验研究院');
  // Staff register the bank's counter system; its client credentials are shown once.
  await page.goto('/console');
  await hydrated(page);
  await page.getByLabel('系统名称').fill('某银行柜面系统');
  await page.getByRole('button', { name: '登记应用系统' }).click();
  const clientId = (await page.getByTestId('party-client-id').textContent())!.trim();
  const clientSecret = (await page.getByTestId('party-client-secret').textContent())!.trim();
  const basic = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
  const verify = (code: string, auth: string | null = basic) =>
    request.post('/api/v1/verify', { headers: auth ? { Authorization: auth } : {}, data: { code } });

  const { number, link } = await present(user);
  expect((await verify(number, null)).status()).toBe(401);
  // The clerk's scanner reads the barcode: the number, without spaces.
  const checked = await verify(number.replaceAll(' ', ''));
  expect(checked.status()).toBe(200);
  const v = await checked.json();
  expect(v.institution_name).toBe('北京市接口核验研究院');
  expect(v.holder_name).toBe('赵六');
  expect(v.holder_id_number).toBe(`**************${residentId(40).slice(-4)}`);
  expect(v.role).toBe('user');
  expect(v.matters.map((m: { name_zh: string }) => m.name_zh)).toContain('银行开户');
  expect(Math.abs(v.checked_at - Date.now())).toBeLessThan(60_000);
  // R9: the number works once; the QR's link verifies while the set lives.
  expect((await verify(number)).status()).toBe(410);
  const byQr = await verify(link);
  expect(byQr.status()).toBe(200);
  expect((await byQr.json()).holder_name).toBe('赵六');

  // R12: the holder sees the system's checks among the card's records.
  await user.goto('/wallet');
  await hydrated(user);
  await user.getByRole('button', { name: '使用记录' }).click();
  await expect(user.getByTestId('card-records')).toContainText('某银行柜面系统');
});
