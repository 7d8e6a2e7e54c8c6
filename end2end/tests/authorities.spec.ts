// Issue 15 §1 (R22): authorities at every level. A province made by the nation creates a county
// and its administrator; that administrator adds an operator, who issues within the county; the
// province sees the count rise and nothing of the institution; disabling a member asks first.
import { Browser, expect, Page, test } from '@playwright/test';
import { creditCode, hydrated, issueCertificate, residentId, staffSignIn, submitIssue } from './helpers';

/** Creates an authority below the signed-in administrator's; answers its administrator. */
async function createBelow(page: Page, region: string, name: string, username: string) {
  const panel = page.getByTestId('authorities-panel');
  await panel.getByLabel('登记管理机关名称').fill(name);
  await panel.getByLabel('行政区划代码').fill(region);
  await panel.getByLabel('管理员用户名').fill(username);
  await panel.getByLabel('管理员姓名').fill('王五');
  await panel.getByRole('button', { name: '创建下级机关及其管理员' }).click();
  const password = (await panel.getByTestId('authority-admin-password').textContent())!.trim();
  expect(password).toHaveLength(16);
  await expect(panel.getByTestId('authority-row').filter({ hasText: region })).toBeVisible();
  return { username, password };
}

/** A browser of its own for another staff member, signed in. */
async function asStaff(browser: Browser, baseURL: string, who: { username: string; password: string }) {
  const page = await (await browser.newContext({ baseURL })).newPage();
  await staffSignIn(page, who);
  return page;
}

test('a province creates a county whose operator issues; the province sees only the count', async ({ page, browser, baseURL }) => {
  // Codes of their own per run, so that a rerun on the same database starts afresh.
  const p = String(41 + Math.floor(Math.random() * 25));
  const [province, county] = [`${p}0000`, `${p}0105`];
  const tag = Math.random().toString(36).slice(2, 8);

  await staffSignIn(page);
  const provinceAdmin = await createBelow(page, province, `测试省${tag}登记管理局`, `p${tag}`);

  const prov = await asStaff(browser, baseURL!, provinceAdmin);
  await expect(prov.getByTestId('staff-duties')).toHaveText('管理员');
  // An administrator alone does not issue: no issuing form.
  await expect(prov.getByRole('button', { name: '核验身份并签发' })).toHaveCount(0);
  // Another province's city is refused with a clear error, and nothing is made.
  const panel = prov.getByTestId('authorities-panel');
  await panel.getByLabel('登记管理机关名称').fill('别省的市');
  await panel.getByLabel('行政区划代码').fill(p === '41' ? '420100' : '410100');
  await panel.getByLabel('管理员用户名').fill(`x${tag}`);
  await panel.getByLabel('管理员姓名').fill('王五');
  await panel.getByRole('button', { name: '创建下级机关及其管理员' }).click();
  await expect(panel.getByRole('alert')).toContainText('不在本登记管理机关的行政区划内');
  const countyAdmin = await createBelow(prov, county, `测试县${tag}登记管理局`, `c${tag}`);

  const cty = await asStaff(browser, baseURL!, countyAdmin);
  await expect(cty.getByTestId('authorities-panel')).toHaveCount(0);
  const staffPanel = cty.getByTestId('staff-panel');
  await staffPanel.getByLabel('用户名').fill(`o${tag}`);
  await staffPanel.getByLabel('工作人员姓名').fill('赵六');
  await staffPanel.getByRole('button', { name: '添加工作人员' }).click();
  const operatorPassword = (await staffPanel.getByTestId('staff-added-password').textContent())!.trim();

  // The county keeps its own matters catalogue: a matter added, then retired.
  const catalogue = cty.getByTestId('catalogue-panel');
  await catalogue.getByLabel('事项名称').fill(`测试事项${tag}`);
  await catalogue.getByLabel('英文名称').fill(`Test matter ${tag}`);
  await catalogue.getByRole('button', { name: '添加事项' }).click();
  const matter = catalogue.getByTestId('matter-row').filter({ hasText: `测试事项${tag}` });
  await expect(matter.getByTestId('matter-state')).toHaveText('使用中');
  await matter.getByTestId('matter-retire').click();
  await expect(matter.getByTestId('matter-state')).toContainText('已停用');

  const op = await asStaff(browser, baseURL!, { username: `o${tag}`, password: operatorPassword });
  await expect(op.getByTestId('staff-duties')).toHaveText('业务员');
  const name = `测试县第${tag}中学`;
  await issueCertificate(op, name, creditCode(county));
  // Found by a part of its name; its page shows its history.
  await op.getByTestId('certificate-search').fill(`第${tag}中`);
  await expect(op.getByTestId('certificate-page')).toContainText('1 / 1 · 1');
  const found = op.getByTestId('certificate-list').getByRole('row').filter({ hasText: name });
  await found.getByTestId('certificate-detail').click();
  await expect(op.getByTestId('detail-changes')).toContainText('签发证书');
  // Outside the county: explained, not issued.
  await submitIssue(op, `测试县外${tag}中学`, creditCode('110105'));
  await expect(op.getByText('统一社会信用代码不在本登记管理机关的行政区划内')).toBeVisible();

  // The province sees the county's count rise in its list and its statistics, finds the
  // institution among its subtree's certificates under the county's name, and sees no person.
  await prov.reload();
  const row = prov.getByTestId('authority-row').filter({ hasText: county });
  await expect(row.getByTestId('authority-certificates')).toHaveText('1');
  const stats = prov.getByTestId('stats-panel');
  const line = stats.getByTestId('below-row').filter({ hasText: county });
  await expect(line.getByTestId('below-issued')).toHaveText('1');
  await expect(line.getByTestId('below-active')).toHaveText('1');
  await expect(stats.locator('svg.chart')).toBeVisible();
  await expect(stats.getByTestId('issued-row').filter({ hasText: name })).toContainText(`测试县${tag}登记管理局`);
  const subtree = prov.getByTestId('subtree-panel');
  await subtree.getByTestId('subtree-search').fill(`第${tag}中`);
  const hit = subtree.getByTestId('subtree-row').filter({ hasText: name });
  await expect(hit).toContainText(`测试县${tag}登记管理局`);
  await expect(hit.getByTestId('subtree-person')).toHaveText('');
  await expect(prov.locator('body')).not.toContainText('张*');
  // The statistics export as CSV, the county's issue in the issuance list.
  await stats.getByTestId('export-issued').click();
  const href = (await stats.getByTestId('issued-csv-link').getAttribute('href'))!;
  expect(decodeURIComponent(href)).toContain(name);

  // Disabling asks first and names what it voids; then the operator's session is gone.
  const member = staffPanel.getByTestId('staff-row').filter({ hasText: `o${tag}` });
  await member.getByTestId('staff-disable').click();
  const confirm = member.getByTestId('staff-disable-confirm');
  await expect(confirm).toContainText('会话立即失效');
  await expect(member.getByTestId('staff-state')).toHaveText('正常');
  await confirm.getByTestId('staff-disable-yes').click();
  await expect(member.getByTestId('staff-state')).toHaveText('已停用');
  await op.reload();
  await expect(op.getByRole('button', { name: '登录' })).toBeVisible();
});

test('search finds the 51st certificate and changes it; a destructive change asks first', async ({ page, baseURL }) => {
  await staffSignIn(page);
  const tag = Math.random().toString(36).slice(2, 8);
  // 51 certificates through the console's own server function, in this session.
  for (let i = 0; i < 51; i++) {
    const reply = await page.request.post('/api/issue_certificate', {
      form: {
        credit_code: creditCode(),
        name: `翻页${tag}第${i}所`,
        address: '北京市海淀区中关村大街1号',
        rep_name: '张三',
        rep_id_number: residentId(123),
        rep_mobile: '13812345678',
        first_manager: 'legal_rep',
        check_form: 'on',
        check_licence: 'on',
        check_identity_card: 'on',
      },
      headers: { Origin: baseURL!, Accept: 'application/json' },
    });
    expect(reply.status(), await reply.text()).toBe(200);
  }
  await page.reload();
  await hydrated(page);
  await page.getByTestId('certificate-search').fill(`翻页${tag}`);
  await expect(page.getByTestId('certificate-page')).toHaveText('1 / 2 · 51');
  await expect(page.getByTestId('certificate-list').getByRole('row').filter({ hasText: `翻页${tag}第0所` })).toHaveCount(0);
  await page.getByTestId('certificate-next').click();
  await expect(page.getByTestId('certificate-page')).toHaveText('2 / 2 · 51');
  const oldest = page.getByTestId('certificate-list').getByRole('row').filter({ hasText: `翻页${tag}第0所` });
  await oldest.getByRole('button', { name: '变更' }).click();
  const panel = page.getByTestId('change-panel');
  await panel.getByLabel('变更事项').selectOption('rename');
  await panel.getByLabel('新名称').fill(`翻页${tag}更名所`);
  await panel.getByRole('button', { name: '确认办理' }).click();
  await expect(panel.getByTestId('change-message')).toHaveText('变更已办理');
  await page.getByTestId('certificate-search').fill(`翻页${tag}更名`);
  const renamed = page.getByTestId('certificate-list').getByRole('row').filter({ hasText: `翻页${tag}更名所` });
  await expect(renamed).toBeVisible();

  // Deleting it asks first, naming what stops working; until then nothing changed.
  await renamed.getByRole('button', { name: '变更' }).click();
  await panel.getByLabel('变更事项').selectOption('delete');
  await panel.getByRole('button', { name: '确认办理' }).click();
  await expect(panel.getByTestId('change-confirm')).toContainText('立即失效');
  await expect(renamed).not.toContainText('已删除');
  await panel.getByTestId('change-confirm-yes').click();
  await expect(panel.getByTestId('change-message')).toHaveText('变更已办理');
  await renamed.getByTestId('certificate-detail').click();
  await expect(page.getByTestId('detail-status')).toHaveText('已删除');
  await expect(page.getByTestId('detail-changes')).toContainText('名称变更');
  // Each issue and change left an archive package, exported as a file with its hash.
  const archives = page.getByTestId('archives');
  await expect(archives.getByTestId('archive-row')).toHaveCount(3);
  await archives.getByTestId('archive-export').first().click();
  const file = decodeURIComponent((await page.getByTestId('archive-file').getAttribute('href'))!);
  expect(file).toContain('"sha256"');
  expect(file).toContain('certificate_delete');
});
