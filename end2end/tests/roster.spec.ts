// Issue 15 §3, 应发尽发: the registration list is imported from a CSV file (bad rows reported by
// line), shows which institutions have a certificate yet, and issues to a selection with slips.
import { expect, test } from '@playwright/test';
import { creditCode, residentId, staffSignIn } from './helpers';

test('a registration list is imported, shows who has a certificate, and issues to a selection', async ({ page }) => {
  await staffSignIn(page);
  const tag = Math.random().toString(36).slice(2, 8);
  const [a, b] = [creditCode(), creditCode()];
  const csv =
    '统一社会信用代码,单位名称,住所,法定代表人,身份证号码,手机号码,登记管理机关\n' +
    `${a},名单甲${tag}中学,北京市朝阳区1号,张三,${residentId(211)},13800000001,\n` +
    `${b},"名单乙${tag}研究所, 东院",北京市朝阳区2号,李四,${residentId(212)},13800000002,\n` +
    `12110105BAD,坏行${tag},北京,王五,${residentId(213)},13800000003,\n`;
  const panel = page.getByTestId('roster-panel');
  await panel.locator('input[type=file]').setInputFiles({ name: 'list.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await expect(panel.getByLabel('或粘贴名单内容')).toHaveValue(csv);
  await panel.getByRole('button', { name: '导入名单' }).click();
  await expect(panel.getByTestId('roster-imported')).toContainText('2');
  await expect(panel.getByTestId('roster-errors')).toContainText('4');
  await expect(panel.getByTestId('roster-errors')).toContainText('统一社会信用代码');

  await panel.getByLabel('在名单中查找').fill(tag);
  const rowA = panel.getByTestId('roster-row').filter({ hasText: `名单甲${tag}中学` });
  await expect(rowA.getByTestId('roster-state')).toHaveText('未发证');
  await expect(panel.getByTestId('roster-row').filter({ hasText: tag })).toHaveCount(2);
  await expect(panel.locator('table')).not.toContainText(residentId(211));
  await expect(rowA).toContainText('张*');
  await rowA.getByTestId('roster-pick').check();
  await panel.getByTestId('roster-issue').click();
  await expect(panel.locator('.slip')).toContainText(a);
  await expect(rowA.getByTestId('roster-state')).toHaveText('已发证');
  await panel.getByTestId('roster-without').check();
  await expect(panel.getByTestId('roster-row').filter({ hasText: tag })).toHaveCount(1);
  await expect(panel.getByTestId('roster-row').filter({ hasText: tag })).toContainText(`名单乙${tag}研究所`);
});
