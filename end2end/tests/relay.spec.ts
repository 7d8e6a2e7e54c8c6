// Issue 14 §1, the relay bar: an attacker starts a dashboard login in a browser of their own and
// sends the link to a manager. The victim's phone opening it must not sign the attacker in: the
// page waits behind a warning, and a holder who goes on without seeing the attacker's screen
// picks a wrong code and ends the login.
import { expect, test } from '@playwright/test';
import { acceptOnPhone, continueFromLink, hydrated, issueCertificate, phone, residentId, staffSignIn } from './helpers';

test('issue 14 §1: a relayed dashboard login link gives the attacker no session', async ({ page, browser, baseURL }) => {
  await staffSignIn(page);
  await issueCertificate(page, '北京市防转发登录研究院');
  const claim = (await page.getByTestId('claim-link').getAttribute('href'))!;
  const victim = await phone(browser, baseURL!);
  await acceptOnPhone(victim, claim, '张三', residentId(123));

  // The attacker: a browser context of its own, on the dashboard's login page.
  const attacker = await (await browser.newContext({ baseURL })).newPage();
  await attacker.goto('/dashboard');
  await hydrated(attacker);
  const link = (await attacker.getByTestId('login-link').getAttribute('href'))!;
  const attackerCode = (await attacker.getByTestId('pc-match-code').textContent())!.trim();

  // The victim opens the sent link: a warning, and nothing is scanned by itself.
  await victim.goto(link);
  await hydrated(victim);
  await expect(victim.getByTestId('link-warning')).toContainText('冒用您单位的身份');
  await expect(victim.getByTestId('match-choice')).toHaveCount(0);
  await victim.waitForTimeout(2000); // two of the attacker page's polls
  await expect(attacker.getByTestId('login-state')).toHaveAttribute('data-state', 'waiting');

  // Going on anyway, the phone names the computer that asked and offers three codes; without
  // the attacker's screen the victim picks one that is not the attacker's.
  await continueFromLink(victim);
  await expect(victim.getByTestId('login-from')).toHaveText('127.0.0.1');
  await expect(victim.getByTestId('login-browser')).toContainText('Chrome');
  const choices = victim.getByTestId('match-choice');
  await expect(choices).toHaveCount(3);
  await choices.filter({ hasNotText: new RegExp(`^${attackerCode}$`) }).first().click();
  await victim.getByLabel('证书密码（6位以上）').fill('cert-pass-1');
  await victim.getByRole('button', { name: '确认登录' }).click();
  await expect(victim.getByRole('alert').filter({ hasText: '本次登录已终止' })).toBeVisible();

  // The attacker's page learns only that the login was refused, and holds no session.
  await expect(attacker.getByTestId('login-state')).toHaveAttribute('data-state', 'rejected');
  await attacker.goto('/dashboard');
  await hydrated(attacker);
  await expect(attacker.getByTestId('login-link')).toBeVisible();
  await expect(attacker.getByTestId('dashboard-institution')).toHaveCount(0);
  const cookies = await attacker.context().cookies();
  expect(cookies.map((c) => c.name)).not.toContain('ecert_holder');
});
