// Issue 16 §7 and §8: the wallet's 扫一扫 where the browser has no BarcodeDetector (iOS Safari,
// Firefox; Chromium on Linux has none either). The wallet then fetches its own decoder (app/scan)
// and reads real camera frames: here the camera is a canvas showing a screenshot of what the
// other screen shows, so the pixels are the ones a phone camera would see, and the decoding is
// the decoder's own.
import { expect, Page, test } from '@playwright/test';
import { askToPresent, CERT_PASSWORD, hydrated, pickMatch, userWithGrant } from './helpers';

/** Gives the phone a camera that films `window.__frame` (a PNG data URL) on a grey desk, and no
 *  BarcodeDetector; records which scripts and modules it fetches. */
async function cameraWithoutDetector(p: Page): Promise<string[]> {
  const fetched: string[] = [];
  p.on('request', (r) => fetched.push(new URL(r.url()).pathname));
  await p.context().addInitScript(() => {
    delete (window as any).BarcodeDetector;
    navigator.mediaDevices.enumerateDevices = async () =>
      [{ kind: 'videoinput', deviceId: 'back', groupId: 'phone', label: '' } as MediaDeviceInfo];
    navigator.mediaDevices.getUserMedia = async () => {
      const canvas = document.createElement('canvas');
      canvas.width = 640;
      canvas.height = 480;
      const context = canvas.getContext('2d')!;
      const image = new Image();
      const paint = () => {
        context.fillStyle = '#9a9a9a';
        context.fillRect(0, 0, canvas.width, canvas.height);
        const frame = (window as any).__frame as string | undefined;
        if (frame && image.src !== frame) image.src = frame;
        if (frame && image.complete && image.naturalWidth > 0) {
          const scale = Math.min((canvas.width - 40) / image.naturalWidth, (canvas.height - 40) / image.naturalHeight, 2);
          const w = image.naturalWidth * scale, h = image.naturalHeight * scale;
          context.drawImage(image, (canvas.width - w) / 2, (canvas.height - h) / 2, w, h);
        }
      };
      paint();
      setInterval(paint, 100);
      return canvas.captureStream(10);
    };
  });
  return fetched;
}

/** What a camera pointed at `element` sees: its screenshot as a data URL. */
async function film(element: ReturnType<Page['locator']>): Promise<string> {
  return `data:image/png;base64,${(await element.screenshot()).toString('base64')}`;
}

const DECODER = '/pkg/scan/ecert_scan_bg.wasm';

test('issue 16 §7 R11: without BarcodeDetector the wallet reads the PC\'s login QR with its own decoder, fetched only then', async ({ page, browser, baseURL }) => {
  const { fm } = await userWithGrant(page, browser, baseURL!, '北京市自带解码研究院');
  const fetched = await cameraWithoutDetector(fm);
  const pc = await (await browser.newContext({ baseURL })).newPage();
  await pc.goto('/dashboard');
  await hydrated(pc);
  const pcMatch = (await pc.getByTestId('pc-match-code').textContent())!.trim();

  await fm.goto('/wallet');
  await hydrated(fm);
  const scan = fm.getByRole('button', { name: '扫一扫' });
  await expect(scan).toBeVisible();
  expect(fetched, 'a wallet that does not scan never downloads the decoder').not.toContain(DECODER);

  await fm.evaluate((f) => ((window as any).__frame = f), await film(pc.getByRole('img', { name: '登录二维码' })));
  await scan.click();
  await expect(fm).toHaveURL(/\/wallet\/login\?code=/);
  expect(fetched).toContain(DECODER);
  await hydrated(fm);
  // Opened by the wallet's own scanner: no link warning, straight to the match codes.
  await expect(fm.getByTestId('link-warning')).toHaveCount(0);
  await pickMatch(fm, pcMatch);
  await expect(pc.getByTestId('login-state')).toHaveAttribute('data-state', 'scanned');
  await fm.getByLabel('证书密码（6位以上）').fill(CERT_PASSWORD);
  await fm.getByRole('button', { name: '确认登录' }).click();
  await expect(pc.getByTestId('dashboard-institution')).toHaveText('北京市自带解码研究院');
});

test('issue 16 §7 §8 R10: without BarcodeDetector the wallet reads another holder\'s barcode and checks it', async ({ page, browser, baseURL }) => {
  const { fm, user } = await userWithGrant(page, browser, baseURL!, '北京市条码相机研究院');
  await askToPresent(user);
  const barcode = user.getByTestId('present-barcode');
  await expect(barcode.locator('svg')).toBeVisible();
  const number = (await user.getByTestId('present-number').textContent())!.replaceAll(' ', '');

  await cameraWithoutDetector(fm);
  await fm.goto('/wallet');
  await hydrated(fm);
  await fm.evaluate((f) => ((window as any).__frame = f), await film(barcode));
  await fm.getByRole('button', { name: '扫一扫' }).click();
  const check = fm.getByTestId('check-others');
  // The debug decoder tries at most four frames a second; on a loaded CI machine a barcode (one
  // row of bars, read at several heights) took longer than the default 15 s once.
  await expect(check.getByTestId('verified-institution')).toHaveText('北京市条码相机研究院', { timeout: 45_000 });
  await expect(check.getByTestId('verified-role')).toHaveText('使用人');
  // The digits the camera read are the number under the barcode.
  expect((await check.getByLabel('对方的数字码').inputValue()).replaceAll(' ', '')).toBe(number);
});
