// End-to-end tests in Debian's Chromium, one project per database. scripts/test builds the
// server and passes its path and free ports; Playwright starts one server per database and
// waits for /healthz before the tests run.
import { existsSync } from 'node:fs';
import { defineConfig, devices } from '@playwright/test';

const server = process.env.ECERT_E2E_SERVER_BIN;
const siteRoot = process.env.ECERT_E2E_SITE_ROOT;
const workDir = process.env.ECERT_E2E_WORKDIR ?? '/tmp/ecert-e2e';
const adminPassword = 'e2e-admin-password';
// Issue 16 §6: every server sends its SMS through the fake HTTP gateway (fake-sms.mjs).
const smsPort = process.env.ECERT_E2E_SMS_PORT ?? '3109';
const smsSecret = 'e2e-sms-shared-secret-0001';

type Backend = { name: string; port: string; databaseUrl: string };
const all: Backend[] = [
  { name: 'sqlite', port: process.env.ECERT_E2E_SQLITE_PORT ?? '3107', databaseUrl: `sqlite:${workDir}/e2e.db` },
];
if (process.env.ECERT_E2E_POSTGRES_URL) {
  all.push({
    name: 'postgres',
    port: process.env.ECERT_E2E_POSTGRES_PORT ?? '3108',
    databaseUrl: process.env.ECERT_E2E_POSTGRES_URL,
  });
}
// ECERT_E2E_BACKEND=sqlite (or postgres): this run starts and tests that database's server alone.
// scripts/test runs one per database side by side (issue 17 §4), each with its own ports.
const only = process.env.ECERT_E2E_BACKEND;
const backends = only ? all.filter((b) => b.name === only) : all;
if (only && backends.length === 0) {
  throw new Error(`ECERT_E2E_BACKEND=${only}: no such database here (sqlite, or postgres with ECERT_E2E_POSTGRES_URL)`);
}

// Issue 17 §1: the balancer of scripts/cluster (https://127.0.0.1:8443), when it runs.
const cluster = process.env.ECERT_E2E_CLUSTER_URL;

/** Debian's Chromium without a window: its headless shell (package chromium-headless-shell, which
 *  scripts/test installs), else the whole browser (package chromium) run headless; ECERT_CHROMIUM
 *  names another. The shell loads and hydrates a page in two thirds of the whole browser's time and
 *  three fifths of its CPU (docs/performance.md, *The journeys in Chromium's headless shell*),
 *  and the journeys take the CPU of the machine. */
const headlessShell = '/usr/bin/chromium-headless-shell';
const browserPath = process.env.ECERT_CHROMIUM ?? (existsSync(headlessShell) ? headlessShell : '/usr/bin/chromium');

/** That browser with `extra` switches. */
function chromium(extra: string[]) {
  return {
    executablePath: browserPath,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extra,
    ],
  };
}

export default defineConfig({
  testDir: './tests',
  // One per database run alone, so that two runs do not clear each other's traces.
  outputDir: only ? `test-results/${only}` : 'test-results',
  // Journeys of several phones and a PC, each page hydrating the WASM of the wasm-dev profile, on 2 cores:
  // 20 to 50 s each alone, and over a minute when the machine is busy.
  timeout: 120_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: { trace: 'retain-on-failure', launchOptions: chromium([]) },
  projects: [
    ...backends.map((b) => ({
      name: b.name,
      testIgnore: /cluster\.spec\.ts/,
      use: { ...devices['Desktop Chrome'], baseURL: `http://127.0.0.1:${b.port}` },
    })),
    // Issue 17 §1: scripts/cluster's nginx in front of its app servers, with the certificate it
    // generated (every context of the browser, phones' too, accepts it).
    ...(cluster
      ? [
          {
            name: 'cluster',
            testMatch: /cluster\.spec\.ts/,
            use: {
              ...devices['Desktop Chrome'],
              baseURL: cluster,
              ignoreHTTPSErrors: true,
              launchOptions: chromium(['--ignore-certificate-errors']),
            },
          },
        ]
      : []),
  ],
  webServer: server
    ? [
        {
          command: `${process.execPath} fake-sms.mjs`,
          url: `http://127.0.0.1:${smsPort}/healthz`,
          reuseExistingServer: false,
          timeout: 20_000,
          env: { ECERT_E2E_SMS_PORT: smsPort, ECERT_E2E_SMS_SECRET: smsSecret },
        },
        ...backends.map((b) => ({
        command: server,
        url: `http://127.0.0.1:${b.port}/healthz`,
        reuseExistingServer: false,
        // How long the server may take to answer /healthz (migrations, on a busy machine).
        timeout: 120_000,
        stdout: 'pipe' as const,
        env: {
          ECERT_LISTEN: `127.0.0.1:${b.port}`,
          DATABASE_URL: b.databaseUrl,
          // R16: a PostgreSQL database needs its data key named; made here on first start.
          ECERT_DATA_KEY_FILE: `${workDir}/data-${b.name}.key`,
          ECERT_SITE_ROOT: siteRoot ?? '../target/site',
          ECERT_ADMIN_PASSWORD: adminPassword,
          ECERT_LOG: 'warn',
          ECERT_SMS_URL: `http://127.0.0.1:${smsPort}/send`,
          ECERT_SMS_TEMPLATES: 'password_reset=SMS_E2E_RESET,redownload=SMS_E2E_REDOWNLOAD,applicant_sign_in=SMS_E2E_APPLICANT',
          ECERT_SMS_SECRET: smsSecret,
        },
      })),
      ]
    : undefined,
});
