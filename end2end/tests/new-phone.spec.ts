// Issue 16 journey 1 (R19, 补办): a holder's certificate moves to a new phone without voiding
// anyone else. A user gets a re-download QR from the manager's dashboard; the first manager gets
// a re-download slip from staff who checked the identity card. The old phone stops at once and
// its card says why; roles and grants stay. A holder can also remove a card from a phone.
import { expect, Page, test } from '@playwright/test';
import {
  acceptOnPhone, approveOnPhone, CERT_PASSWORD, hydrated, issueCertificate, phone, redownloadOnPhone, residentId,
  scanLogin, staffSignIn, userWithGrant,
} from './helpers';

/** The phone's wallet home, with the card's server status loaded. */
async function wallet(p: Page) {
  await p.goto('/wallet');
  await hydrated(p);
  await expect(p.getByTestId('cards')).toBeVisible();
}

test('R19: a user gets the certificate back on a new phone with the grant intact; the old phone is refused', async ({ page, browser, baseURL }) => {
  const { fm, dash, user } = await userWithGrant(page, browser, baseURL!, '北京市补办测试研究院');
  await wallet(user);
  await expect(user.getByTestId('card-grants')).toContainText('银行开户');

  // The first manager shows the user's re-download QR, approved on the manager's own phone (the
  // dashboard, opened before the user accepted, is reloaded to show the user active).
  await dash.reload();
  await hydrated(dash);
  const row = dash.getByTestId('holder-row').filter({ hasText: '赵*' });
  await row.getByTestId('redownload').click();
  await approveOnPhone(dash, fm, '补办证书到新手机');
  const qr = dash.getByTestId('code-qr');
  await expect(qr.getByRole('heading')).toHaveText('补办二维码');
  const link = (await qr.getByTestId('accept-link').getAttribute('href'))!;
  expect(link).toContain('/wallet/redownload?code=');

  // The old phone stopped the moment the code was made, and says why.
  await wallet(user);
  await expect(user.getByTestId('card-status')).toContainText('证书已补办到另一部手机');

  // The new phone takes the role up after the name, the ID number and the SMS code sent to the
  // registered mobile (the manager who showed the code knows the rest), with the grant as it was.
  const newPhone = await phone(browser, baseURL!);
  await newPhone.goto(link);
  await hydrated(newPhone);
  await newPhone.getByLabel('姓名').fill('赵六');
  await newPhone.getByLabel('身份证号码').fill(residentId(40));
  await newPhone.getByLabel('证书密码（6位以上）').fill(CERT_PASSWORD);
  await newPhone.getByLabel('再次输入证书密码').fill(CERT_PASSWORD);
  await newPhone.getByLabel('短信验证码').fill('000000');
  await newPhone.getByLabel('我已阅读并同意下载声明').check();
  await newPhone.locator('form button[type=submit]').click();
  await expect(newPhone.getByRole('alert')).toContainText('短信验证码');
  await redownloadOnPhone(newPhone, link, '赵六', residentId(40), '13912345678');
  await expect(newPhone.getByRole('heading', { name: '补办证书到本手机' })).toBeVisible();
  await wallet(newPhone);
  await expect(newPhone.getByTestId('card-grants')).toContainText('银行开户');
  await newPhone.getByTestId('present-button').click();
  await hydrated(newPhone);
  await newPhone.getByLabel('证书密码（6位以上）').fill(CERT_PASSWORD);
  await newPhone.getByRole('button', { name: '生成出示码' }).click();
  await expect(newPhone.getByTestId('present-number')).toHaveText(/^\d{4} \d{4} \d{4} \d{4}$/);

  // The code worked once; the records say what happened; the first manager was not disturbed.
  const again = await phone(browser, baseURL!);
  await again.goto(link);
  await hydrated(again);
  await expect(again.getByTestId('offer-error')).toContainText('已被使用');
  await dash.reload();
  await hydrated(dash);
  await expect(dash.getByTestId('changes')).toContainText('补办证书（原手机停用）');
  await expect(dash.getByTestId('changes')).toContainText('证书已补办到新手机');
});

test('R19: staff give the first manager a re-download slip after the identity card; the holder can remove a card', async ({ page, browser, baseURL }) => {
  const name = '北京市补办凭条研究院';
  await staffSignIn(page);
  await issueCertificate(page, name);
  const claim = (await page.getByTestId('claim-link').getAttribute('href'))!;
  const oldPhone = await phone(browser, baseURL!);
  await acceptOnPhone(oldPhone, claim, '张三', residentId(123));

  // Staff record the first manager's new phone: the identity card must have been seen.
  await page.reload();
  await hydrated(page);
  const row = page.getByTestId('certificate-list').getByRole('row').filter({ hasText: name });
  await row.getByRole('button', { name: '变更' }).click();
  const panel = page.getByTestId('change-panel');
  await panel.getByLabel('变更事项').selectOption('new_device');
  await expect(panel.getByTestId('new-device-notice')).toContainText('原手机立即停用');
  await panel.getByRole('button', { name: '确认办理' }).click();
  await expect(panel.getByTestId('change-message')).toContainText('材料核验清单');
  // Nothing changed: the old phone still holds a live role (a first manager has no grants).
  await wallet(oldPhone);
  await expect(oldPhone.getByTestId('card-grants')).toBeAttached();
  await expect(oldPhone.getByTestId('card-status')).toHaveCount(0);
  await panel.getByLabel('第一管理责任人身份证原件及复印件已查验').check();
  await panel.getByRole('button', { name: '确认办理' }).click();
  await expect(panel.getByTestId('change-message')).toHaveText('变更已办理');
  await expect(page.getByRole('heading', { name: '补办凭条', exact: true })).toBeVisible();
  const link = (await page.getByTestId('claim-link').getAttribute('href'))!;
  expect(link).toContain('/wallet/redownload?code=');

  await wallet(oldPhone);
  await expect(oldPhone.getByTestId('card-status')).toContainText('证书已补办到另一部手机');
  const newPhone = await phone(browser, baseURL!);
  await redownloadOnPhone(newPhone, link, '张三', residentId(123), '13812345678');
  // The first manager signs in to the dashboard with the new phone.
  const dash = await (await browser.newContext({ baseURL })).newPage();
  await scanLogin(dash, newPhone);
  await expect(dash.getByTestId('my-role')).toHaveText('第一管理责任人');

  // Removing the card from the phone stops it at once: the dashboard session it opened ends.
  await wallet(newPhone);
  await newPhone.getByTestId('remove-card').click();
  await expect(newPhone.getByTestId('remove-card-confirm')).toContainText('确定删除');
  await newPhone.getByTestId('remove-card-yes').click();
  await expect(newPhone.getByTestId('no-cards')).toBeVisible();
  await dash.reload();
  await hydrated(dash);
  await expect(dash.getByTestId('login-link')).toBeVisible();
  await row.getByTestId('certificate-detail').click();
  await expect(page.getByTestId('detail-changes')).toContainText('持有人从手机删除证书');
});
