// Issue 16 journey 3: management in the wallet. The first manager adds a user from the phone
// (signed by the phone with the certificate password: no PC, no approval QR), the phone shows the
// face-to-face QR, and the user takes the role up on their own phone.
import { expect, test } from '@playwright/test';
import { acceptOnPhone, CERT_PASSWORD, cstDay, hydrated, issueCertificate, phone, residentId, staffSignIn } from './helpers';

test('a manager adds a user from the wallet and shows the face-to-face QR on the phone', async ({ page, browser, baseURL }) => {
  await staffSignIn(page);
  await issueCertificate(page, '北京市手机管理研究院');
  const claim = (await page.getByTestId('claim-link').getAttribute('href'))!;
  const fm = await phone(browser, baseURL!);
  await acceptOnPhone(fm, claim, '张三', residentId(123));

  await fm.goto('/wallet');
  await hydrated(fm);
  await fm.getByTestId('manage-button').click();
  const manage = fm.getByTestId('manage');
  await expect(manage).toBeVisible();
  const add = manage.getByTestId('add-user');
  await add.getByLabel('姓名').fill('赵六');
  await add.getByLabel('身份证号码').fill(residentId(42));
  await add.getByLabel('手机号码').fill('13912345678');
  await add.getByLabel('银行开户').check();
  await add.getByLabel('开始日期').fill(cstDay());
  await add.getByLabel('结束日期').fill(cstDay(30));
  // Without the certificate password the phone signs nothing.
  await add.locator('button[type=submit]').click();
  await expect(manage.getByTestId('manage-error')).toHaveText('请先填写证书密码');
  await manage.locator('input[name=manage_password]').fill(CERT_PASSWORD);
  await add.locator('button[type=submit]').click();
  const qr = manage.getByTestId('code-qr');
  await expect(qr.getByRole('heading')).toHaveText('面对面授权二维码');
  const link = (await qr.getByTestId('accept-link').getAttribute('href'))!;
  await expect(manage.getByTestId('holder-row').filter({ hasText: '赵*' })).toHaveAttribute('data-status', 'pending');

  const user = await phone(browser, baseURL!);
  await acceptOnPhone(user, link, '赵六', residentId(42));
  await user.goto('/wallet');
  await hydrated(user);
  await expect(user.getByTestId('card-grants')).toContainText('银行开户');
  // A user's card has no management panel.
  await expect(user.getByTestId('manage-button')).toHaveCount(0);

  // A removal asks first and names what it stops (R21 on the phone); "cancel" changes nothing.
  await fm.reload();
  await hydrated(fm);
  await fm.getByTestId('manage-button').click();
  await manage.locator('input[name=manage_password]').fill(CERT_PASSWORD);
  const row = manage.getByTestId('holder-row').filter({ hasText: '赵*' });
  await expect(row).toHaveAttribute('data-status', 'active');
  await row.getByTestId('remove').click();
  await expect(manage.getByTestId('manage-confirm')).toContainText('其手机上的证书立即失效');
  await manage.getByTestId('manage-confirm-no').click();
  await expect(manage.getByTestId('manage-confirm')).toHaveCount(0);
  await expect(row).toHaveAttribute('data-status', 'active');
  await row.getByTestId('remove').click();
  await manage.getByTestId('manage-confirm-yes').click();
  await expect(manage.getByTestId('holder-row')).toHaveCount(0);
  await user.reload();
  await hydrated(user);
  await expect(user.getByTestId('card-status')).toContainText('您的角色已被移除');
});
