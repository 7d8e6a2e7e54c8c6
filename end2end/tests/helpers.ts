// Reusable flows for the end-to-end suite.
import { expect, Page } from '@playwright/test';

export const ADMIN = { username: 'admin', password: 'e2e-admin-password' };

export async function hydrated(page: Page) {
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
}

export async function staffSignIn(page: Page) {
  await page.goto('/console');
  await hydrated(page);
  await page.getByLabel('用户名').fill(ADMIN.username);
  await page.getByLabel('密码').fill(ADMIN.password);
  await page.getByRole('button', { name: '登录' }).click();
  await expect(page.getByText('已登录：')).toBeVisible();
}

const CREDIT_CHARS = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const CREDIT_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/** A fresh valid unified social credit code (GB 32100-2015) of a public institution. */
export function creditCode(): string {
  let prefix = '12110105';
  for (let i = 0; i < 9; i++) prefix += CREDIT_CHARS[Math.floor(Math.random() * 31)];
  const sum = [...prefix].reduce((s, c, i) => s + CREDIT_CHARS.indexOf(c) * CREDIT_WEIGHTS[i], 0);
  return prefix + CREDIT_CHARS[(31 - (sum % 31)) % 31];
}

/** A valid resident ID number (GB 11643-1999). */
export function residentId(seq: number): string {
  const prefix = '11010519900101' + String(seq % 1000).padStart(3, '0');
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...prefix].reduce((s, c, i) => s + Number(c) * weights[i], 0);
  return prefix + '10X98765432'[sum % 11];
}

/** Issues a certificate from the console (staff signed in); returns its credit code. */
export async function issueCertificate(page: Page, name = '北京市测试研究院'): Promise<string> {
  const code = creditCode();
  await page.getByLabel('统一社会信用代码').fill(code);
  await page.getByLabel('单位名称').fill(name);
  await page.getByLabel('住所').fill('北京市海淀区中关村大街1号');
  await page.getByLabel('姓名', { exact: true }).fill('张三');
  await page.getByLabel('身份证号码', { exact: true }).fill(residentId(123));
  await page.getByLabel('手机号码', { exact: true }).fill('13812345678');
  await page.getByRole('button', { name: '核验身份并签发' }).click();
  await expect(page.getByRole('heading', { name: '电子证书领取单' })).toBeVisible();
  return code;
}
