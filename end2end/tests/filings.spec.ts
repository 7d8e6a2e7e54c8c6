// Issue 18 §1, R23: the registration business filed with the certificate. A manager signed in to
// the dashboard fills a form, the platform makes the document and its digest, the phone signs
// that digest, and the authority's staff approve it in the console: an annual report is then
// public, a change of legal representative voids every role and gives a new claim slip (R14).
import { expect, Page, test } from '@playwright/test';
import { acceptOnPhone, approveOnPhone, hydrated, issueCertificate, phone, residentId, scanLogin, staffSignIn, userWithGrant } from './helpers';

/** Staff issue a certificate to `name`, its legal representative claims it on a phone and signs
 *  in to the dashboard on the PC; returns the phone and the credit code. */
async function signedIn(pc: Page, browser: import('@playwright/test').Browser, baseURL: string, name: string) {
  await staffSignIn(pc);
  const code = await issueCertificate(pc, name);
  const claim = (await pc.getByTestId('claim-link').getAttribute('href'))!;
  const fm = await phone(browser, baseURL);
  await acceptOnPhone(fm, claim, '张三', residentId(123));
  await scanLogin(pc, fm);
  await hydrated(pc);
  return { fm, code };
}

/** The dashboard makes the document of the form filled, and the phone signs it. */
async function signAndFile(pc: Page, fm: Page, summary: string) {
  const panel = pc.getByTestId('filings-panel');
  await panel.getByTestId('filing-prepare').click();
  const doc = panel.getByTestId('filing-document');
  await expect(doc).toBeVisible();
  const digest = (await doc.getByTestId('filing-digest').textContent())!.trim();
  expect(digest).toMatch(/^([0-9a-f]{4} ){15}[0-9a-f]{4}$/);
  await doc.getByTestId('filing-sign').click();
  // The phone shows the same digest it signs.
  await approveOnPhone(pc, fm, summary);
  await expect(panel.getByTestId('filing-row').first()).toHaveAttribute('data-status', 'submitted');
  return digest;
}

/** Staff open the waiting filing of `name` in the console. */
async function openFiling(pc: Page, name: string) {
  await pc.goto('/console');
  await hydrated(pc);
  const review = pc.getByTestId('filing-review');
  const row = review.getByTestId('review-row').filter({ hasText: name });
  await expect(row).toHaveCount(1);
  await row.getByTestId('review-open').click();
  const detail = review.getByTestId('review-detail');
  await expect(detail.getByTestId('review-digest')).toHaveAttribute('data-matches', 'true');
  // The phone's signature is kept with the filing and checked again.
  await expect(detail.getByTestId('review-signature')).toHaveAttribute('data-verified', 'true');
  return { review, detail };
}

test('R23: an annual report signed on the phone is approved by staff and published', async ({ page, browser, baseURL, }, info) => {
  const name = `北京市年报研究院${info.project.name}`;
  const { fm, code } = await signedIn(page, browser, baseURL!, name);
  const year = new Date().getFullYear() - 1;
  const panel = page.getByTestId('filings-panel');
  await panel.getByLabel('办理业务').selectOption('annual_report');
  await panel.getByLabel('报告年度').fill(String(year));
  await panel.getByLabel('开展业务活动情况').fill('开展科研项目12项；\n服务企业300家。');
  await panel.getByLabel('年初净资产（万元）').fill('1200.50');
  await panel.getByLabel('年末净资产（万元）').fill('1350');
  await panel.getByLabel('年初资产总额（万元）').fill('3000');
  await panel.getByLabel('年末资产总额（万元）').fill('3321.75');
  await panel.getByLabel('对变更登记规定的执行情况').fill('按规定办理变更登记。');
  await panel.getByLabel('绩效和受奖惩情况').fill('获市级科技进步奖一项。');
  await panel.getByLabel('涉及诉讼情况').fill('无');
  // A missing section is named before anything is signed.
  await panel.getByLabel('社会投诉情况').fill('');
  await panel.getByTestId('filing-prepare').click();
  await expect(panel.getByTestId('filing-error')).toContainText('社会投诉情况');
  await panel.getByLabel('社会投诉情况').fill('无');
  await signAndFile(page, fm, `年度报告（${year}年度）`);

  // Not public before staff approve it.
  const anon = await browser.newPage({ baseURL });
  await anon.goto(`/annual-reports?q=${code}`);
  await expect(anon.getByText('暂无公示的年度报告。')).toBeVisible();

  const { review, detail } = await openFiling(page, name);
  await expect(detail).toContainText('开展科研项目12项');
  await detail.getByTestId('review-approve').click();
  await expect(review.getByTestId('review-row').filter({ hasText: name })).toHaveCount(0);

  // The holder sees it approved; everyone sees it published, with its sections.
  await page.goto('/dashboard');
  await hydrated(page);
  await expect(page.getByTestId('filings-panel').getByTestId('filing-row').first()).toHaveAttribute('data-status', 'approved');
  await anon.goto(`/annual-reports?q=${code}`);
  const row = anon.getByTestId('report-row');
  await expect(row).toHaveCount(1);
  await expect(row.getByTestId('report-year')).toHaveText(String(year));
  await row.getByRole('link', { name }).click();
  await expect(anon.getByTestId('report')).toContainText('3321.75');
  await expect(anon.getByTestId('report')).toContainText('获市级科技进步奖一项。');
});

test('R23 R14: a change of legal representative signed on the phone, once approved, voids every role and gives a new claim slip', async ({ page, browser, baseURL }, info) => {
  const name = `北京市换届研究院${info.project.name}`;
  const { fm } = await signedIn(page, browser, baseURL!, name);
  const panel = page.getByTestId('filings-panel');
  await panel.getByLabel('办理业务').selectOption('change');
  await panel.getByLabel('新法定代表人姓名（不变则留空）').fill('李四');
  await panel.getByLabel('新法定代表人身份证号码').fill(residentId(201));
  await panel.getByLabel('新法定代表人手机号码').fill('13700000000');
  await panel.getByLabel('事由').fill('举办单位任命新的法定代表人');
  await signAndFile(page, fm, '变更登记');

  const { review, detail } = await openFiling(page, name);
  await expect(detail).toContainText('李四');
  // Form 2's papers are checked first.
  await detail.getByTestId('review-approve').click();
  await expect(detail.getByTestId('review-error')).toContainText('材料核验清单');
  await detail.getByTestId('review-check-form').check();
  await detail.getByTestId('review-check-licence').check();
  await detail.getByTestId('review-check-id').check();
  await detail.getByTestId('review-approve').click();
  const slip = review.locator('.slip[data-kind=claim]');
  await expect(slip).toContainText('李*');
  const claim = (await slip.getByTestId('claim-link').getAttribute('href'))!;

  // R14: the old first manager's dashboard session is over, and the new representative claims.
  await page.goto('/dashboard');
  await hydrated(page);
  await expect(page.getByTestId('login-link')).toBeVisible();
  const rep = await phone(browser, baseURL!);
  await acceptOnPhone(rep, claim, '李四', residentId(201));
  await rep.goto('/wallet');
  await expect(rep.getByTestId('cards')).toContainText('第一管理责任人');
});

test('R23: a user granted the registration business signs in to the dashboard, sees only that, and files', async ({ page, browser, baseURL }, info) => {
  const name = `北京市补领研究院${info.project.name}`;
  const { user } = await userWithGrant(page, browser, baseURL!, name, '登记业务');
  const pc = await (await browser.newContext({ baseURL })).newPage();
  await scanLogin(pc, user);
  await hydrated(pc);
  await expect(pc.getByTestId('my-role')).toHaveText('使用人');
  await expect(pc.getByTestId('add-user')).toHaveCount(0);
  const panel = pc.getByTestId('filings-panel');
  await panel.getByLabel('办理业务').selectOption('reissue');
  await panel.getByLabel('事由').fill('法人证书正本损毁');
  await signAndFile(pc, user, '证书补领');

  const { detail } = await openFiling(page, name);
  await expect(detail).toContainText('赵六');
  await detail.getByTestId('review-approve').click();
  await pc.reload();
  await hydrated(pc);
  await expect(pc.getByTestId('filings-panel').getByTestId('filing-row').first()).toHaveAttribute('data-status', 'approved');
});
