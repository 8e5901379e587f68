/** The page shell and stylesheet shared by the report and diff pages: one file, no external resources. */
import { markup, SafeHtml } from './html-kit.ts';

export const REPORT_CSS = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #59636e; --line: #d1d9e0; --bg-alt: #f6f8fa;
  --bad: #b3261e; --bad-bg: #fdecea; --good: #1a7f37; --good-bg: #e6f4ea; --warn: #8a5a00; --warn-bg: #fff4d6; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); }
main { max-width: 1400px; margin: 0 auto; padding: 0 24px 48px; }
h1 { font-size: 22px; margin: 4px 0 6px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
h2 { font-size: 17px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
code, .mono, td.mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12.5px; }
.verdict { padding: 18px 24px; margin: 0 -24px 16px; border-bottom: 3px solid var(--line); }
.verdict .label { text-transform: uppercase; letter-spacing: .06em; font-weight: 700; font-size: 12px; margin: 0; }
.verdict .meta { color: var(--muted); margin: 0; }
.verdict-leaks-found { background: var(--bad-bg); border-color: var(--bad); }
.verdict-leaks-found .label { color: var(--bad); }
.verdict-no-leaks { background: var(--good-bg); border-color: var(--good); }
.verdict-no-leaks .label { color: var(--good); }
.verdict-incomplete, .verdict-inconclusive { background: var(--warn-bg); border-color: var(--warn); }
.verdict-incomplete .label, .verdict-inconclusive .label { color: var(--warn); }
.notice { background: var(--warn-bg); border-left: 4px solid var(--warn); padding: 8px 12px; margin: 8px 0; }
.uncontained h2, .alarm { color: var(--bad); }
.alarm { background: var(--bad-bg); border-left: 4px solid var(--bad); padding: 8px 12px; margin: 8px 0; font-weight: 600; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; }
th, td { text-align: left; vertical-align: top; padding: 4px 8px; border-bottom: 1px solid var(--line); }
th { background: var(--bg-alt); font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.wrap { word-break: break-all; }
tbody tr:nth-child(even) { background: #fbfcfd; }
mark { background: #ffd33d; color: #000; padding: 0 1px; }
.excerpt { white-space: pre-wrap; word-break: break-all; }
td.evidence { max-width: 520px; }
.chain { white-space: nowrap; }
.muted { color: var(--muted); }
.status-fixed { color: var(--good); font-weight: 600; }
.status-still, .status-new { color: var(--bad); font-weight: 600; }
.status-none { color: var(--muted); }
.status-hidden { color: var(--warn); font-weight: 600; }
.severity-critical, .severity-high { color: var(--bad); font-weight: 600; }
.severity-medium { color: var(--warn); font-weight: 600; }
.stage-failed { color: var(--bad); font-weight: 600; }
.stage-skipped { color: var(--warn); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 6px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; word-break: break-all; }
nav.pager a { margin-right: 12px; }
table.ui-timeline td { vertical-align: middle; }
table.ui-timeline img { width: 96px; height: auto; border: 1px solid var(--line); display: block; }
.outcome-skipped { color: var(--warn); }
.outcome-failed { color: var(--bad); font-weight: 600; }
`;

export function htmlPage(title: string, body: SafeHtml): string {
  // The CSP is a second line of defence: were a value ever left unescaped, no script would run
  // and nothing would load from elsewhere (images only from beside the page: the UI screenshots).
  return markup`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src 'self'">
<title>${title}</title>
<style>${new SafeHtml(REPORT_CSS)}</style>
</head>
<body>
${body}
</body>
</html>
`.value;
}
