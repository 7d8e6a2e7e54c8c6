// Issue 16 journey 2 (R17, grants by scan): a user is registered without a grant; the manager
// later grants matters to that user, and the grant is in force only once the user scans its grant
// QR on their own phone (seed 000: 生成授权二维码，使用人通过扫一扫即可获得授权).
import { expect, test } from '@playwright/test';
import {
  acceptOnPhone, approveOnPhone, CERT_PASSWORD, cstDay, hydrated, issueCertificate, phone, residentId, scanLogin,
  staffSignIn,
} from './helpers';

test('R17: a user registered without a grant receives one by scanning its grant QR', async ({ page, browser, baseURL }) => {
  test.setTimeout(150_000);
  await staffSignIn(page);
  await issueCertificate(page, '北京市扫码授权研究院');
  const claim = (await page.getByTestId('claim-link').getAttribute('href'))!;
  const fm = await phone(browser, baseURL!);
  await acceptOnPhone(fm, claim, '张三', residentId(123));
  const dash = await (await browser.newContext({ baseURL })).newPage();
  await scanLogin(dash, fm);

  // The user is registered with no matters and no dates, and takes the role up.
  const add = dash.getByTestId('add-user');
  await add.getByLabel('姓名').fill('赵六');
  await add.getByLabel('身份证号码').fill(residentId(41));
  await add.getByLabel('手机号码').fill('13912345678');
  await add.locator('button[type=submit]').click();
  await approveOnPhone(dash, fm, '添加使用人：赵*');
  const accept = (await dash.getByTestId('accept-link').getAttribute('href'))!;
  const user = await phone(browser, baseURL!);
  await acceptOnPhone(user, accept, '赵六', residentId(41));

  // Without a grant in force the user presents nothing, and is told why.
  await user.goto('/wallet');
  await hydrated(user);
  await expect(user.getByTestId('card-grants')).toHaveCount(1);
  await expect(user.getByTestId('card-grants').locator('li')).toHaveCount(0);
  await user.getByTestId('present-button').click();
  await hydrated(user);
  await user.getByLabel('证书密码（6位以上）').fill(CERT_PASSWORD);
  await user.getByRole('button', { name: '生成出示码' }).click();
  await expect(user.getByRole('alert').filter({ hasText: '没有生效的授权' })).toBeVisible();
  await expect(user.getByTestId('present-number')).toHaveCount(0);

  // The manager grants 银行开户 for a month: the grant waits for the user's scan.
  await dash.reload();
  await hydrated(dash);
  const form = dash.getByTestId('add-grant');
  await form.getByLabel('银行开户').check();
  await form.getByLabel('开始日期').fill(cstDay());
  await form.getByLabel('结束日期').fill(cstDay(30));
  await form.locator('button[type=submit]').click();
  await approveOnPhone(dash, fm, '为使用人 赵* 新增授权');
  const qr = dash.getByTestId('code-qr');
  await expect(qr.getByRole('heading')).toHaveText('授权二维码');
  const link = (await qr.getByTestId('accept-link').getAttribute('href'))!;
  expect(link).toContain('/wallet/grant?code=');
  const row = dash.getByTestId('holder-row').filter({ hasText: '赵*' });
  await expect(row.getByTestId('grant')).toHaveAttribute('data-state', 'waiting');
  await expect(row.getByTestId('grant')).toContainText('授权人 张*');

  // The user scans it on their own phone and receives it.
  await user.goto(link);
  await hydrated(user);
  await expect(user.getByTestId('offer-matters')).toHaveText('银行开户');
  await user.getByRole('button', { name: '接收授权' }).click();
  await expect(user.getByTestId('grant-received')).toBeVisible();
  await user.goto('/wallet');
  await hydrated(user);
  await expect(user.getByTestId('card-grants')).toContainText('银行开户');
  await expect(user.getByTestId('card-grants')).toContainText('生效中');
  await user.getByTestId('present-button').click();
  await hydrated(user);
  await user.getByLabel('证书密码（6位以上）').fill(CERT_PASSWORD);
  await user.getByRole('button', { name: '生成出示码' }).click();
  await expect(user.getByTestId('present-number')).toHaveText(/^\d{4} \d{4} \d{4} \d{4}$/);

  // The code worked once; the dashboard shows the grant in force and the record.
  await user.goto(link);
  await hydrated(user);
  await expect(user.getByTestId('offer-error')).toBeVisible();
  await dash.reload();
  await hydrated(dash);
  await expect(row.getByTestId('grant')).toHaveAttribute('data-state', 'active');
  await expect(row.getByTestId('grant')).toContainText('生效中');
  await expect(dash.getByTestId('changes')).toContainText('使用人扫码接收授权');

  // Issue 16 journey 4: the certificate face on the phone, after the certificate password.
  await user.goto('/wallet');
  await hydrated(user);
  await user.getByTestId('face-button').click();
  await user.locator('input[name=face_password]').fill(CERT_PASSWORD);
  await user.getByRole('button', { name: '查看', exact: true }).click();
  const face = user.getByTestId('face');
  await expect(face.getByTestId('face-institution')).toHaveText('北京市扫码授权研究院');
  await expect(face.getByTestId('face-status')).toHaveText('有效');
  await expect(face.getByTestId('face-grants')).toContainText('银行开户');
  await expect(face.getByTestId('face-changes')).toContainText('使用人扫码接收授权');
});
