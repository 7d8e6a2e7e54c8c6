// Issue 18 §1: establishment registration (设立登记). A founding organiser signs in with a mobile
// and an SMS code (through the fake SMS gateway), fills the establishment application, attaches
// its papers and submits it; staff return it with reasons, the applicant corrects it, staff
// approve it — the institution is registered with a new unified social credit code and its
// certificate issued — and the legal representative claims it with the slip from the
// applicant's page.
import { expect, test } from '@playwright/test';
import { acceptOnPhone, hydrated, phone, residentId, smsCode, staffSignIn } from './helpers';

const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');

test('establishment: applied for on an SMS account, returned, corrected, approved and claimed', async ({ page, browser, baseURL }, info) => {
  const name = `北京市设立登记测试中心${info.project.name}${info.retry || ''}`;
  // A mobile of this run: each project's and each retry's own (the per-mobile limits hold).
  const mobile = `137${String((Date.now() + info.retry * 7919) % 100_000_000).padStart(8, '0')}`;
  const masked = `${mobile.slice(0, 3)}****${mobile.slice(7)}`;
  const ap = await (await browser.newContext({ baseURL })).newPage();
  await ap.goto('/establish');
  await hydrated(ap);
  const since = Date.now();
  await ap.getByTestId('applicant-mobile').fill(mobile);
  await ap.getByTestId('applicant-send').click();
  await expect(ap.getByTestId('applicant-sent')).toHaveText(`验证码已发送至 ${masked}`);
  // A second code within the minute is refused (no SMS bombing of a mobile).
  await ap.getByTestId('applicant-send').click();
  await expect(ap.getByTestId('applicant-error')).not.toBeEmpty();
  const code = await smsCode(mobile, 'SMS_E2E_APPLICANT', since);
  const wrong = code === '000000' ? '111111' : '000000';
  await ap.getByTestId('applicant-code').fill(wrong);
  await ap.getByTestId('applicant-submit').click();
  await expect(ap.getByTestId('applicant-error')).toHaveText('短信验证码错误，还可尝试4次');
  await ap.getByTestId('applicant-code').fill(code);
  await ap.getByTestId('applicant-submit').click();
  await expect(ap.getByTestId('applicant-me')).toContainText(masked);

  // The application: without papers it is refused and names them.
  await ap.getByTestId('establish-authority').selectOption({ label: '国家事业单位登记管理局' });
  await ap.getByTestId('establish-name').fill(name);
  await ap.getByTestId('establish-address').fill('北京市东城区东长安街1号');
  await ap.getByTestId('establish-purpose').fill('为社会提供检验检测服务。');
  await ap.getByTestId('establish-funds').fill('500');
  await ap.getByTestId('establish-funding_source').fill('财政补助');
  await ap.getByTestId('establish-sponsor').fill('北京市市场监督管理局');
  await ap.getByTestId('establish-rep_name').fill('赵六');
  await ap.getByTestId('establish-rep_id').fill(residentId(666));
  await ap.getByTestId('establish-rep_mobile').fill('13900006666');
  await ap.getByTestId('establish-submit').click();
  await expect(ap.getByTestId('establish-error')).toHaveText('附件不能为空');
  // Only PDF, PNG and JPEG papers are taken.
  const files = ap.getByTestId('establish-file');
  await files.setInputFiles({ name: 'page.html', mimeType: 'text/html', buffer: Buffer.from('<html></html>') });
  await expect(ap.getByTestId('establish-error')).toHaveText('page.html: 附件格式不正确');
  await files.setInputFiles({ name: '设立登记申请书.pdf', mimeType: 'application/pdf', buffer: PDF });
  await expect(ap.getByTestId('establish-file-item')).toHaveCount(1);
  await ap.getByTestId('establish-submit').click();
  await expect(ap.getByTestId('establish-submitted')).toHaveText(`已提交：${name}`);
  const mine = ap.getByTestId('establishment-row').filter({ hasText: name });
  await expect(mine).toHaveAttribute('data-status', 'submitted');

  // Staff read it (the legal representative masked, R16), open a paper, and return it.
  await staffSignIn(page);
  const review = page.getByTestId('establishment-review');
  const row = review.getByTestId('establishment-review-row').filter({ hasText: name });
  await row.getByTestId('establishment-open').click();
  const detail = review.getByTestId('establishment-detail');
  await expect(detail.getByTestId('establishment-rep')).toContainText('赵六');
  await expect(detail.getByTestId('establishment-rep')).not.toContainText(residentId(666));
  await detail.getByTestId('establishment-paper').getByRole('button').click();
  await expect(detail.getByTestId('establishment-paper-link')).toHaveAttribute('href', /^data:application\/pdf;base64,JVBERi0x/);
  await detail.getByTestId('establishment-return').click();
  await expect(detail.getByTestId('establishment-error')).toHaveText('审核意见不能为空');
  await detail.getByTestId('establishment-reasons').fill('请补充举办单位的批复文件。');
  await detail.getByTestId('establishment-return').click();
  await expect(row).toHaveCount(0);

  // The applicant reads the reasons and corrects the application with one more paper.
  await ap.reload();
  await hydrated(ap);
  await expect(mine).toHaveAttribute('data-status', 'returned');
  await expect(mine.getByTestId('establishment-note')).toHaveText('请补充举办单位的批复文件。');
  await mine.getByTestId('establishment-correct').click();
  await expect(ap.getByTestId('establish-name')).toHaveValue(name);
  await expect(ap.getByTestId('establish-file-item')).toHaveCount(1);
  await files.setInputFiles({ name: '举办单位批复.png', mimeType: 'image/png', buffer: PNG });
  await expect(ap.getByTestId('establish-file-item')).toHaveCount(2);
  await ap.getByTestId('establish-submit').click();
  await expect(mine).toHaveAttribute('data-status', 'submitted');

  // Staff approve: the institution registered, its certificate issued, the claim slip printed.
  await page.reload();
  await hydrated(page);
  await row.getByTestId('establishment-open').click();
  await expect(detail.getByTestId('establishment-paper')).toHaveCount(2);
  await detail.getByTestId('establishment-approve').click();
  await expect(page.getByRole('heading', { name: '电子证书领取单' })).toBeVisible();
  await expect(row).toHaveCount(0);

  // The applicant sees the new credit code and takes the claim slip; the legal representative
  // claims the certificate with it on a phone.
  await ap.reload();
  await hydrated(ap);
  await expect(mine).toHaveAttribute('data-status', 'approved');
  await expect(mine.getByTestId('establishment-code')).toHaveText(/^12100000[0-9A-HJ-NPQRTUWXY]{10}$/);
  await mine.getByTestId('establishment-claim').click();
  const link = (await ap.getByTestId('applicant-claim-link').getAttribute('href'))!;
  expect(link).toContain('/wallet/claim?code=');
  const rep = await phone(browser, baseURL!);
  await rep.goto(link);
  await expect(rep.getByTestId('offer-institution')).toContainText(name);
  await acceptOnPhone(rep, link, '赵六', residentId(666));
});
