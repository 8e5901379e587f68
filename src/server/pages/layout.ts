import { REPORT_CSS } from '../../report/html-page.ts';
import { markup, SafeHtml } from '../../report/html-kit.ts';

const APP_CSS = `
header.site { display: flex; gap: 16px; align-items: baseline; padding: 8px 16px; border-bottom: 1px solid #ddd; }
header.site a { text-decoration: none; }
form.inline { display: inline-flex; gap: 8px; align-items: center; flex-wrap: wrap; margin: 8px 0; }
ol.timeline { list-style: none; padding: 0; }
ol.timeline li { padding: 4px 8px; margin: 2px 0; border-left: 4px solid #ccc; }
ol.timeline li.stage-started { border-color: #2a6ebb; font-weight: 600; }
ol.timeline li.stage-done { border-color: #2e7d32; }
ol.timeline li.stage-failed { border-color: #c62828; }
#run-status.ended-completed { color: #2e7d32; }
#run-status.ended-failed { color: #c62828; }
#run-status.ended-cancelled { color: #8d6e00; }
.actions a { margin-right: 12px; }
`;

/**
 * The interface's pages: the report's stylesheet, and scripts only from this server. The CSP
 * keeps a value that escaped escaping from running and stops anything loading from elsewhere.
 */
export function appPage(title: string, body: SafeHtml, script?: string): string {
  return markup`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'">
<title>${title}</title>
<link rel="icon" href="data:,">
<style>${new SafeHtml(REPORT_CSS + APP_CSS)}</style>
${script ? markup`<script src="${script}" defer></script>` : ''}
</head>
<body>
<header class="site"><strong><a href="/">canarytrap</a></strong><a href="/">Runs</a><a href="/admin/queues">Queue</a></header>
${body}
</body>
</html>
`.value;
}

/** A select of the bundled lab images, for the submit and rerun forms. */
export function labSelect(names: readonly string[], name: string, selected?: string): SafeHtml {
  return markup`<select name="${name}" id="${name}">
${names.map((n) => markup`<option value="${n}"${n === selected ? new SafeHtml(' selected') : ''}>${n}</option>\n`)}</select>`;
}
