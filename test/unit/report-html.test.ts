import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CanaryKind } from '../../src/canary/types.ts';
import { buildReport } from '../../src/report/build.ts';
import { renderReportHtml } from '../../src/report/html.ts';
import {
  adupsLeaks,
  BIGDATA,
  flow,
  FOTA,
  input,
  leak,
  SYSOPER,
  T0,
} from '../support/report-fixtures.ts';

/** Every element and attribute the renderer itself writes; anything else on the page was injected. */
const OUR_TAGS = new Set([
  '!doctype',
  'html',
  'head',
  'meta',
  'title',
  'style',
  'body',
  'main',
  'header',
  'section',
  'nav',
  'p',
  'h1',
  'h2',
  'h3',
  'table',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
  'code',
  'span',
  'mark',
  'br',
  'div',
  'dl',
  'dt',
  'dd',
  'a',
]);
const OUR_ATTRIBUTES = new Set([
  'id',
  'lang',
  'charset',
  'name',
  'content',
  'http-equiv',
  'class',
  'href',
]);

function assertOnlyOurMarkup(page: string): void {
  for (const match of page.matchAll(/<\/?([a-zA-Z!][a-zA-Z0-9-]*)([^>]*)>/g)) {
    const [, tag = '', attributes = ''] = match;
    assert.ok(OUR_TAGS.has(tag.toLowerCase()), `unexpected element <${tag}> in the page`);
    if (tag.toLowerCase() === '!doctype') continue;
    for (const attribute of attributes.matchAll(/([^\s=]+)="[^"]*"/g)) {
      assert.ok(
        OUR_ATTRIBUTES.has(attribute[1] ?? ''),
        `unexpected attribute ${attribute[1]} on <${tag}>`,
      );
    }
    // Anything left once the quoted attributes are removed would be an attribute smuggled in.
    assert.equal(
      attributes.replaceAll(/\s*[^\s=]+="[^"]*"/g, '').trim(),
      '',
      `stray markup in <${tag}${attributes}>`,
    );
  }
}

void test('the page shows the verdict, one row per leak, transforms and highlighted evidence', () => {
  const page = renderReportHtml(
    buildReport(input(adupsLeaks(), [flow(BIGDATA, { app: SYSOPER })])),
  );
  assert.ok(page.startsWith('<!DOCTYPE html>'));
  assert.ok(page.indexOf('Leaks found') < page.indexOf('<section'), 'the verdict comes first');
  assert.match(page, /5 canary kinds left the device to 2 hosts from 2 apps \(6 leaks\)/);
  const leakRows = page.slice(
    page.indexOf('<section id="leaks">'),
    page.indexOf('</section>', page.indexOf('<section id="leaks">')),
  );
  assert.equal(leakRows.match(/<tr>/g)?.length, 1 + 6, 'a header row and one row per leak');
  assert.ok(page.includes('tls → base64 → aes-128-cbc → json'));
  assert.ok(page.includes('tls → form:data'));
  assert.ok(
    page.includes('{&quot;v&quot;:&quot;<mark>490154203237518</mark>&quot;,&quot;n&quot;:1}'),
  );
  assert.ok(page.includes('127.0.0.10:443'));
  assert.ok(page.includes(`<code>POST</code> https://${BIGDATA}/upload`));
  assert.ok(!/(src|href)="(https?:)?\/\//i.test(page), 'no external resources');
  assert.ok(!/<script/i.test(page), 'no scripts');
  assertOnlyOurMarkup(page);
});

void test('values from the firmware render inert wherever they appear', () => {
  const evil = '<script>alert(1)</script>';
  const attr = '"><img src=x onerror=alert(2)>';
  const hostile = leak({
    kind: 'free_text',
    host: `evil${evil}.example.org`,
    app: `com.evil${attr}`,
    value: `free ${evil}`,
    url: `https://x.example.org/?q=${attr}${evil}`,
    excerpt: `before ${evil} free ${evil} after '${attr}`,
    transforms: ['tls', `b64${evil}`],
  });
  hostile.canary.id = `id${attr}`;
  hostile.http = { method: `GET${evil}`, url: `https://x.example.org/${evil}` };
  const report = buildReport(
    input([hostile], [flow(`flow${evil}.example.org`, { app: `pkg${attr}` })], {
      limitations: [`limit ${evil}`],
      stages: [
        {
          name: `stage${evil}`,
          startedAt: T0,
          finishedAt: T0 + 1,
          status: 'failed',
          note: `note ${attr}`,
        },
      ],
      inventory: {
        apps: [{ package: `p${evil}`, path: `/system/${attr}`, [`key${evil}`]: `v${evil}` }],
        findings: [
          {
            rule: `rule${evil}`,
            severity: `high${attr}`,
            package: FOTA,
            evidence: { detail: evil },
          },
        ],
      },
    }),
  );
  report.run.image.name = `image${evil}`;
  report.run.image.fingerprint = attr;
  const page = renderReportHtml(report);
  assert.ok(!/<script/i.test(page), 'no <script> element survives');
  assert.ok(!/<img/i.test(page), 'no <img> element survives');
  assert.ok(page.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), 'the text is shown, escaped');
  assert.ok(
    page.includes('<mark>free &lt;script&gt;alert(1)&lt;/script&gt;</mark>'),
    'the match is still marked',
  );
  assert.ok(page.includes('rule&lt;script&gt;'), 'inventory findings are escaped');
  assert.ok(page.includes('key&lt;script&gt;'), 'inventory column names are escaped');
  assertOnlyOurMarkup(page);
});

void test('10,000 leaks: grouped, paged, and within size and time bounds', () => {
  const kinds: CanaryKind[] = [
    'sms_body',
    'contact_name',
    'call_number',
    'imei',
    'imsi',
    'location',
  ];
  const hosts = [BIGDATA, 'fota.adups.com', 'rebootv5.adsunflower.com', 'sa.example.org'];
  const apps = [SYSOPER, FOTA, 'com.android.browser'];
  const leaks = Array.from({ length: 10_000 }, (_, i) =>
    leak({
      kind: kinds[i % kinds.length] ?? 'imei',
      host: hosts[i % hosts.length] ?? BIGDATA,
      app: apps[i % apps.length] ?? FOTA,
      t: T0 + i * 1000,
      url: `https://${hosts[i % hosts.length]}/upload?seq=${i}&pad=${'p'.repeat(200)}`,
      excerpt: `${'x'.repeat(400)}MATCH${i}${'y'.repeat(400)}`,
      value: `MATCH${i}`,
    }),
  );
  const flows = Array.from({ length: 2_000 }, (_, i) =>
    flow(hosts[i % hosts.length] ?? BIGDATA, { t: T0 + i }),
  );
  const started = performance.now();
  const page = renderReportHtml(buildReport(input(leaks, flows)));
  const elapsed = performance.now() - started;
  const size = Buffer.byteLength(page);
  assert.ok(elapsed < 2000, `built and rendered in ${elapsed.toFixed(0)} ms, expected < 2000`);
  assert.ok(size < 15 * 1024 * 1024, `page is ${size} bytes, expected < 15 MiB`);
  const leakSection = page.slice(page.indexOf('<section id="leaks">'));
  assert.equal(
    leakSection.slice(0, leakSection.indexOf('</section>')).match(/<tr>/g)?.length,
    1 + 500,
  );
  assert.ok(page.includes('Showing leaks 1–500 of 10,000'));
  const groups = page.slice(
    page.indexOf('<section id="channels">'),
    page.indexOf('<section id="leaks">'),
  );
  // 6 kinds × 4 hosts × 3 apps, but i mod 6, 4 and 3 pair up on lcm 12: 12 distinct channels.
  assert.equal(groups.match(/<tr>/g)?.length, 1 + 12);
  assert.ok(groups.includes('>834<') || groups.includes('>833<'), 'each group counts its leaks');
  console.log(`10,000 leaks: ${(size / 1024).toFixed(0)} KiB in ${elapsed.toFixed(0)} ms`);
});

void test('paging: a later page with links both ways', () => {
  const leaks = Array.from({ length: 30 }, (_, i) =>
    leak({ kind: 'imei', host: BIGDATA, t: T0 + i, id: `l${i}` }),
  );
  const page = renderReportHtml(buildReport(input(leaks, [])), {
    leakLimit: 10,
    leakOffset: 10,
    leakPageHref: (offset) => `?offset=${offset}&x="y"`,
  });
  assert.ok(page.includes('Showing leaks 11–20 of 30'));
  assert.ok(page.includes('<a href="?offset=0&amp;x=&quot;y&quot;">← previous 10</a>'));
  assert.ok(page.includes('<a href="?offset=20&amp;x=&quot;y&quot;">next 10 →</a>'));
  assert.ok(page.includes('<td class="num">11</td>'));
  assert.ok(!page.includes('<td class="num">21</td>'));
});

void test('a clean run with limitations and an inventory', () => {
  const page = renderReportHtml(
    buildReport(
      input([], [flow('time.example.org')], {
        limitations: ['instrumentation unavailable: frida is not installed'],
        inventory: {
          apps: [
            {
              package: FOTA,
              path: '/system/app/Fota.apk',
              permissions: ['android.permission.READ_SMS', 'android.permission.INTERNET'],
            },
          ],
          findings: [
            {
              rule: 'silent-install-capability',
              severity: 'high',
              package: FOTA,
              evidence: 'INSTALL_PACKAGES',
            },
          ],
        },
      }),
    ),
  );
  assert.match(page, /class="verdict verdict-no-leaks"/);
  assert.ok(page.includes('No canary left the device in 1 captured flow to 1 host'));
  assert.ok(
    page.includes('<p class="notice">instrumentation unavailable: frida is not installed</p>'),
  );
  assert.ok(page.includes('<td class="severity-high">high</td>'));
  assert.ok(page.includes('android.permission.READ_SMS, android.permission.INTERNET'));
  assert.ok(!page.includes('<section id="leaks">'));
  assertOnlyOurMarkup(page);
});
