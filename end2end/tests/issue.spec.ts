// Delegation issue, journey 1: staff sign in, register an institution and issue its
// certificate with a claim QR code and slip; bad input is explained and changes nothing.
import { expect, test } from '@playwright/test';
import { creditCode, issueCertificate, residentId, staffSignIn } from './helpers';

test('staff issue a certificate and get a claim QR code and slip', async ({ page }) => {
  await staffSignIn(page);
  const code = await issueCertificate(page);
  const slip = page.locator('.slip');
  await expect(slip).toContainText(code);
  await expect(slip).toContainText('张*');
  await expect(slip.getByTestId('serial')).toHaveText(/^EC\d{8}[0-9A-Z]{10}$/);
  await expect(slip.getByRole('img', { name: '领取二维码' }).locator('svg')).toBeVisible();
  const link = await slip.getByTestId('claim-link').getAttribute('href');
  expect(link).toMatch(/\/wallet\/claim\?code=[A-Za-z0-9_-]{43}$/);
  // The list shows it as not claimed, with personal data masked (R16).
  const row = page.getByTestId('certificate-list').getByRole('row').filter({ hasText: code });
  await expect(row).toContainText('待领取');
  await expect(page.locator('body')).not.toContainText(residentId(123));
  // Form 1 (seed 000, 附件1), prefilled from what was typed, dated and named for this authority.
  await page.getByTestId('printed-form-fold').first().locator('summary').click();
  await page.getByLabel('备注').first().fill('窗口一号');
  const form1 = page.getByTestId('printed-form').first();
  await expect(form1).toContainText('事业单位法人电子证书申领表');
  await expect(form1).toContainText(code);
  await expect(form1).toContainText(residentId(123));
  await expect(form1.getByTestId('form-date')).toHaveText(/^\d{4}年\d{1,2}月\d{1,2}日$/);
  await expect(form1.getByTestId('form-authority')).not.toBeEmpty();
  await expect(form1.getByTestId('form-remark')).toHaveText('窗口一号');
  await expect(page.getByRole('button', { name: '打印表格' }).first()).toBeVisible();
});

test('a refreshed claim code replaces the previous one', async ({ page }) => {
  await staffSignIn(page);
  const code = await issueCertificate(page, '北京市刷新测试中心');
  const first = await page.getByTestId('claim-link').getAttribute('href');
  await page.getByTestId('certificate-list').getByRole('row').filter({ hasText: code }).getByRole('button', { name: '重新生成领取码' }).click();
  await expect(page.getByTestId('claim-link')).not.toHaveAttribute('href', first!);
});

test('a wrong credit code is explained in Chinese and nothing is issued', async ({ page }) => {
  await staffSignIn(page);
  const good = creditCode();
  const bad = good.slice(0, 17) + (good[17] === '0' ? '1' : '0');
  await page.getByLabel('统一社会信用代码').fill(bad);
  await page.getByLabel('单位名称').fill('校验失败测试单位');
  await page.getByLabel('住所').fill('北京');
  await page.getByLabel('姓名', { exact: true }).fill('张三');
  await page.getByLabel('身份证号码', { exact: true }).fill(residentId(1));
  await page.getByLabel('手机号码', { exact: true }).fill('13812345678');
  await page.getByRole('button', { name: '核验身份并签发' }).click();
  await expect(page.getByRole('alert')).toContainText('统一社会信用代码校验位不正确');
  // Issue 15 §2: the papers checklist was not ticked, and that is said too.
  await expect(page.getByRole('alert')).toContainText('材料核验清单不能为空');
  await expect(page.getByTestId('certificate-list').getByRole('row').filter({ hasText: bad })).toHaveCount(0);
});

test('a wrong staff password is refused', async ({ page }) => {
  await page.goto('/console');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await page.getByLabel('用户名').fill('admin');
  await page.getByLabel('密码').fill('not the password');
  await page.getByRole('button', { name: '登录' }).click();
  await expect(page.getByRole('alert')).toContainText('用户名或密码错误');
});
