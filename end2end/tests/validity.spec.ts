// Issue 16 §5 (R20): a certificate's validity. Staff and the first manager see the end coming;
// past its last day the certificate fails every verification and login; staff find it among
// the expired, renew it, and it works again with every holder and grant as they were.
import { expect, Page, test } from '@playwright/test';
import { askToPresent, CERT_PASSWORD, cstDay, hydrated, phone, serverCommand, userWithGrant } from './helpers';

/** The same date five years on, less a day: the last day of a validity starting today (CST). */
function fiveYearsLessADay(): string {
  const [y, m, d] = cstDay().split('-').map(Number);
  return new Date(Date.UTC(y + 5, m - 1, d) - 86400_000).toISOString().slice(0, 10);
}

test('R20: a certificate past its validity fails verification and login, is renewed and works again', async ({ page, browser, baseURL }, info) => {
  // A whole certificate life: issue, claim, a user, a lapse, a renewal, a scan login.
  test.setTimeout(150_000);
  const name = '北京市有效期届满研究院';
  const { dash, user } = await userWithGrant(page, browser, baseURL!, name);
  const list = page.getByTestId('certificate-list');
  const row = list.getByRole('row').filter({ hasText: name });
  await expect(row.getByTestId('valid-until')).toHaveText(fiveYearsLessADay());
  await expect(row.getByTestId('validity-mark')).toHaveCount(0);
  const serial = (await row.locator('td').nth(2).textContent())!.trim();

  // Three months before the end: the console marks it and the first manager is told.
  const soon = cstDay(30);
  expect(serverCommand(info.project.name, ['certificate', 'validity', serial, '--until', soon])).toContain(`valid until ${soon}`);
  await page.reload();
  await hydrated(page);
  await expect(row.getByTestId('validity-mark')).toHaveText('三个月内到期，可续期');
  await dash.reload();
  await hydrated(dash);
  await expect(dash.getByTestId('dashboard-valid-until')).toHaveText(soon);
  await expect(dash.getByTestId('renewal-notice')).toContainText('办理续期');

  // Past the last day: no code, the holder is told why, the dashboard session ends.
  const lastDay = cstDay(-1);
  serverCommand(info.project.name, ['certificate', 'validity', serial, '--until', lastDay]);
  await askToPresent(user);
  await expect(user.getByRole('alert').filter({ hasText: '届满' })).toContainText(`证书有效期已于${lastDay}届满`);
  await expect(user.getByTestId('present-number')).toHaveCount(0);
  await dash.reload();
  await hydrated(dash);
  await expect(dash.getByTestId('login-link')).toBeVisible();
  await expect(dash.getByTestId('dashboard-institution')).toHaveCount(0);

  // Staff find it among the expired and renew it: five years from today.
  await page.reload();
  await hydrated(page);
  const filter = page.locator('section[aria-labelledby=list-title]').getByLabel('证书状态');
  await filter.selectOption({ label: '已过有效期' });
  await expect(list.getByRole('row')).toHaveCount(2);
  await expect(row.getByTestId('validity-mark')).toHaveText('已过有效期');
  await row.getByRole('button', { name: '变更' }).click();
  const panel = page.getByTestId('change-panel');
  await panel.getByLabel('变更事项').selectOption('renew');
  await expect(panel.getByTestId('renew-notice')).toContainText(lastDay);
  await panel.getByRole('button', { name: '确认办理' }).click();
  await expect(panel.getByTestId('change-message')).toHaveText('变更已办理');
  await expect(page.getByText('尚未签发证书')).toBeVisible();
  await filter.selectOption({ label: '全部' });
  await expect(row.getByTestId('valid-until')).toHaveText(fiveYearsLessADay());
  await row.getByTestId('certificate-detail').click();
  await expect(page.getByTestId('detail-changes')).toContainText('证书续期');

  // The same user, grant and phone work again; any phone checks the code.
  await askToPresent(user);
  await expect(user.getByTestId('present-number')).toHaveText(/^\d{4} \d{4} \d{4} \d{4}$/);
  const link = (await user.getByTestId('present-link').getAttribute('href'))!;
  const passerby = await phone(browser, baseURL!);
  await passerby.goto(link);
  await expect(passerby.getByTestId('verified-institution')).toHaveText(name);
  // The dashboard session opened before the lapse works again: renewal disturbs no one.
  await dash.reload();
  await hydrated(dash);
  await expect(dash.getByTestId('dashboard-institution')).toHaveText(name);
  await expect(dash.getByTestId('dashboard-valid-until')).toHaveText(fiveYearsLessADay());
  await expect(dash.getByTestId('renewal-notice')).toHaveCount(0);
});
