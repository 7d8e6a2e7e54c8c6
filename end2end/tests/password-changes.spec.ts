// Delegation issue, journeys 6 and 7: the certificate password (R13: change with the old one,
// 6 wrong entries lock it, an SMS code — through the fake HTTP gateway, retried after it failed
// once (issue 16 §6) — unlocks and resets it) and
// changes recorded in the console (R14: a legal-representative change voids every authorization
// at once and gives a new claim QR; R15: a cancelled certificate signs nobody in).
import { expect, Page, test } from '@playwright/test';
import { acceptOnPhone, checkPapers, hydrated, issueCertificate, phone, residentId, scanLogin, staffSignIn } from './helpers';

async function claimed(page: Page, browser: any, baseURL: string, name: string) {
  await staffSignIn(page);
  await issueCertificate(page, name);
  const claim = (await page.getByTestId('claim-link').getAttribute('href'))!;
  const fm = await phone(browser, baseURL);
  await acceptOnPhone(fm, claim, '张三', residentId(123));
  return fm;
}

test('R13: a wrong old password is counted, six lock it, and an SMS code resets it', async ({ page, browser, baseURL }) => {
  // The SMS goes out on the gateway's third attempt, about 20 s after it was asked for.
  test.setTimeout(180_000);
  const fm = await claimed(page, browser, baseURL!, '北京市密码测试研究院');
  await fm.goto('/wallet');
  await hydrated(fm);
  const card = fm.locator('.card').filter({ hasText: '北京市密码测试研究院' });
  await card.getByRole('button', { name: '修改证书密码' }).click();
  await card.getByLabel('原证书密码').fill('wrong-pass');
  await card.getByLabel('新证书密码').fill('new-pass-1');
  const save = card.getByRole('button', { name: '保存' });
  for (let left = 5; left >= 1; left--) {
    await save.click();
    await expect(card.getByTestId('card-message')).toHaveText(`证书密码错误，还可尝试${left}次`);
  }
  await save.click();
  await expect(card.getByTestId('card-message')).toContainText('证书密码已锁定');
  await card.getByLabel('原证书密码').fill('cert-pass-1');
  await save.click();
  await expect(card.getByTestId('card-message')).toContainText('证书密码已锁定');

  // The gateway is busy for two attempts: the message waits and goes out on the third (about 20 s).
  const gateway = `http://127.0.0.1:${process.env.ECERT_E2E_SMS_PORT ?? '3109'}`;
  const since = Date.now();
  await fetch(`${gateway}/fail?n=2`, { method: 'POST' });
  await card.getByRole('button', { name: '忘记或锁定密码' }).click();
  await card.getByRole('button', { name: '发送短信验证码' }).click();
  await expect(card.getByTestId('card-message')).toHaveText('验证码已发送至 138****5678');
  // One a minute (R13): the button counts down to the next (issue 16 §7).
  await expect(card.getByTestId('send-sms')).toBeDisabled();
  await expect(card.getByTestId('send-sms')).toHaveText(/^\d+秒后可重新发送$/);

  // Staff see the failed attempt and then the delivery, never the code.
  await page.reload();
  await hydrated(page);
  const deliveries = page.getByTestId('sms-deliveries');
  await expect(deliveries.getByRole('row').nth(1)).toContainText('138****5678');
  await expect(deliveries.getByRole('row').nth(1)).toContainText('等待重试');
  await expect(deliveries.getByRole('row').nth(1)).toContainText('503');
  type Sms = { mobile: string; template: string; params: { code: string }; at: number };
  const taken = async () => ((await (await fetch(`${gateway}/messages`)).json()) as Sms[]).filter((m) => m.at >= since);
  await expect.poll(async () => (await taken()).length, { timeout: 60_000 }).toBe(1);
  const [sms] = await taken();
  expect(sms.mobile).toBe('13812345678');
  expect(sms.template).toBe('SMS_E2E_RESET');
  const code = sms.params.code;
  await page.locator('section[aria-labelledby=sms-title]').getByRole('button', { name: '刷新' }).click();
  await expect(deliveries.getByRole('row').nth(1)).toContainText('已发送');
  await expect(deliveries).not.toContainText(code);
  await card.getByLabel('短信验证码').fill(code);
  await card.locator('form').filter({ hasText: '短信验证码' }).getByLabel('身份证号码').fill(residentId(123));
  await card.locator('form').filter({ hasText: '短信验证码' }).getByLabel('新证书密码').fill('reset-pass-2');
  await card.getByRole('button', { name: '重置证书密码' }).click();
  await expect(card.getByTestId('card-message')).toHaveText('证书密码已重置并解锁');

  const pc = await (await browser.newContext({ baseURL })).newPage();
  await scanLogin(pc, fm, 'reset-pass-2');
  await expect(pc.getByTestId('changes')).toContainText('重置证书密码');
});

test('R14 R15: a legal-representative change voids the session and a new claim follows; cancellation ends it all', async ({ page, browser, baseURL }) => {
  const fm = await claimed(page, browser, baseURL!, '北京市变更办理研究院');
  const pc = await (await browser.newContext({ baseURL })).newPage();
  await scanLogin(pc, fm);

  await page.reload();
  await hydrated(page);
  const row = page.getByTestId('certificate-list').getByRole('row').filter({ hasText: '北京市变更办理研究院' });
  await row.getByRole('button', { name: '变更' }).click();
  const panel = page.getByTestId('change-panel');
  await panel.getByLabel('变更事项').selectOption('legal_rep');
  await panel.getByLabel('姓名', { exact: true }).fill('李四');
  await panel.getByLabel('身份证号码', { exact: true }).fill(residentId(200));
  await panel.getByLabel('手机号码', { exact: true }).fill('13700000000');
  // Form 2, prefilled and printable; the counter ticks the papers it checked.
  await panel.getByTestId('printed-form-fold').locator('summary').click();
  await panel.getByLabel('备注').fill('原法定代表人退休');
  const form2 = panel.getByTestId('printed-form');
  await expect(form2).toContainText('第一管理责任人变更申请表');
  await expect(form2).toContainText('法定代表人变更');
  await expect(form2).toContainText('李四');
  await expect(form2.getByTestId('form-remark')).toHaveText('原法定代表人退休');
  await panel.getByRole('button', { name: '确认办理' }).click();
  await expect(panel.getByTestId('change-message')).toHaveText('材料核验清单不能为空');
  await expect(panel.getByTestId('change-confirm')).toHaveCount(0);
  await checkPapers(panel.getByTestId('checklist'));
  await panel.getByRole('button', { name: '确认办理' }).click();
  // Issue 15 §2: a change that voids people asks first and names them; nothing happened yet.
  await expect(panel.getByTestId('change-confirm')).toContainText('第一管理责任人1名、管理人0名、使用人0名和0项授权立即失效');
  await expect(panel.getByTestId('change-message')).toHaveCount(0);
  await panel.getByTestId('change-confirm-yes').click();
  await expect(panel.getByTestId('change-message')).toHaveText('变更已办理');
  await expect(page.locator('.slip')).toContainText('李*');
  const newClaim = (await page.getByTestId('claim-link').getAttribute('href'))!;

  // R14: the old first manager's session ends at once.
  await pc.reload();
  await hydrated(pc);
  await expect(pc.getByTestId('login-link')).toBeVisible();
  await expect(pc.getByTestId('dashboard-institution')).toHaveCount(0);

  const rep = await phone(browser, baseURL!);
  await acceptOnPhone(rep, newClaim, '李四', residentId(200));
  await scanLogin(pc, rep);
  await expect(pc.getByTestId('changes')).toContainText('法定代表人变更');

  // R15: cancellation.
  await row.getByRole('button', { name: '变更' }).click();
  await panel.getByLabel('变更事项').selectOption('cancel');
  await panel.getByRole('button', { name: '确认办理' }).click();
  await panel.getByTestId('change-confirm-yes').click();
  await expect(panel.getByTestId('change-message')).toHaveText('变更已办理');
  await expect(page.getByTestId('certificate-list').getByRole('row').filter({ hasText: '北京市变更办理研究院' })).toContainText('已注销');
  await pc.reload();
  await hydrated(pc);
  await expect(pc.getByTestId('dashboard-institution')).toHaveCount(0);
});
