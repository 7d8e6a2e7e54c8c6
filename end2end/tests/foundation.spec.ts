// Issue 2: the shell renders on the server, hydrates, calls a server function, speaks Chinese
// by default and remembers an English choice, and answers unknown paths with a real 404 page.
import { expect, test } from '@playwright/test';

test('the home page is server-rendered in Chinese and hydrates', async ({ page }) => {
  const response = await page.goto('/');
  expect(response?.status()).toBe(200);
  await expect(page.locator('html')).toHaveAttribute('lang', 'zh-CN');
  await expect(page.getByRole('heading', { level: 1, name: '事业单位法人电子证书' })).toBeVisible();
  // Only the WASM sets this attribute.
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
});

test('the system check round-trips through a server function to the database', async ({ page }) => {
  await page.goto('/');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  const serverFn = page.waitForResponse((r) => r.url().includes('/api/system_status'));
  await page.getByRole('button', { name: '检查服务与数据库' }).click();
  expect((await serverFn).status()).toBe(200);
  await expect(page.getByRole('status')).toContainText('数据库连接正常');
  await expect(page.getByRole('status')).toContainText(/SQLite|PostgreSQL/);
});

test('the English switch persists across reloads and pages', async ({ page }) => {
  await page.goto('/verify');
  await page.getByRole('link', { name: 'English' }).click();
  await expect(page).toHaveURL(/\/verify$/);
  await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  await expect(page.getByRole('heading', { level: 1, name: 'Counter verification' })).toBeVisible();
  await page.reload();
  await expect(page.getByRole('heading', { level: 1, name: 'Counter verification' })).toBeVisible();
  await page.goto('/');
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await page.getByRole('button', { name: 'Check server and database' }).click();
  await expect(page.getByRole('status')).toContainText('the database answers');
  await page.getByRole('link', { name: '中文' }).click();
  await expect(page.locator('html')).toHaveAttribute('lang', 'zh-CN');
});

test('an unknown path gets a real 404 page', async ({ page }) => {
  const response = await page.goto('/no/such/page');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { level: 1, name: '页面不存在' })).toBeVisible();
  await page.getByRole('link', { name: '返回首页' }).click();
  await expect(page.getByRole('heading', { level: 1, name: '事业单位法人电子证书' })).toBeVisible();
});

test('issue 16 §7: the wallet can be added to the home screen (manifest, icons, theme colour)', async ({ page, request }) => {
  await page.goto('/wallet');
  await expect(page.locator('link[rel=manifest]')).toHaveAttribute('href', '/manifest.webmanifest');
  await expect(page.locator('meta[name=theme-color]')).toHaveAttribute('content', '#b3261e');
  const manifest = await request.get('/manifest.webmanifest');
  expect(manifest.ok()).toBe(true);
  const m = await manifest.json();
  expect(m.start_url).toBe('/wallet');
  expect(m.display).toBe('standalone');
  for (const icon of m.icons) {
    const res = await request.get(icon.src);
    expect(res.ok(), icon.src).toBe(true);
    expect(res.headers()['content-type']).toContain(icon.type);
  }
  const touch = await request.get((await page.locator('link[rel=apple-touch-icon]').getAttribute('href'))!);
  expect(touch.headers()['content-type']).toContain('image/png');
});
