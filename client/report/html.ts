/**
 * The report as one self-contained HTML document: inline CSS and SVG, no script, nothing fetched (a Content Security
 * Policy forbids it, as a second line behind escaping), printable. DocuSign data is untrusted, so every value passes
 * through `escapeXml` on its way out; no markup is ever built from it.
 */
import { chartSvg, escapeXml } from './chart';
import { reportDocument, type Block, type Cell, type Text } from './document';
import type { Report } from './model';

const CSS = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #212121;
  margin: 0 auto; max-width: 1100px; padding: 24px 32px; background: #fff; }
header { border-bottom: 3px solid #1565c0; margin-bottom: 16px; padding-bottom: 8px; }
h1 { font-size: 24px; margin: 0 0 4px; overflow-wrap: anywhere; }
h2 { font-size: 19px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 1px solid #cfd8dc; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.subtitle { color: #546e7a; margin: 0; }
nav ol { margin: 8px 0 0; padding-left: 20px; columns: 2; }
a { color: #1565c0; }
.glance { display: flex; flex-wrap: wrap; gap: 8px; margin: 12px 0 0; padding: 0; }
.glance div { border: 1px solid #cfd8dc; border-radius: 6px; padding: 6px 12px; min-width: 150px; }
.glance dt { font-size: 12px; color: #546e7a; }
.glance dd { margin: 0; font-size: 18px; font-weight: 600; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 8px 0; }
dl.facts dt { color: #546e7a; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; font-size: 0.93em; }
th, td { border: 1px solid #cfd8dc; padding: 4px 8px; text-align: left; vertical-align: top; overflow-wrap: break-word; }
th { background: #eceff1; }
tbody tr:nth-child(even) { background: #fafafa; }
.code, .hash { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.92em; }
/* A digest is one 64-character word: it may break anywhere rather than widen its table past the page. */
.hash { overflow-wrap: anywhere; }
.pass { color: #1b5e20; font-weight: 600; }
.fail { color: #b71c1c; font-weight: 600; }
.muted { color: #78909c; }
.warning { color: #b71c1c; font-weight: 600; background: #fdecea; border-left: 3px solid #b71c1c; padding: 6px 10px; }
.empty { color: #546e7a; font-style: italic; background: #f5f7f8; border-left: 3px solid #b0bec5; padding: 6px 10px; }
figure { margin: 8px 0; }
figcaption { color: #546e7a; font-size: 12px; }
svg.chart { max-width: 100%; height: auto; print-color-adjust: exact; -webkit-print-color-adjust: exact; }
footer { margin-top: 32px; color: #78909c; font-size: 12px; border-top: 1px solid #cfd8dc; padding-top: 8px; }
@page { size: A4; margin: 14mm; }
@media print {
  body { padding: 0; max-width: none; font-size: 9.5pt; }
  nav { display: none; }
  h2 { break-after: avoid; }
  h3 { break-after: avoid; }
  thead { display: table-header-group; }
  tr, figure, .glance div { break-inside: avoid; }
  th, .empty, .warning { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
}
`;

function text(t: Text): string {
  if (typeof t === 'string') return escapeXml(t);
  const classes = [t.tone, t.style].filter(Boolean).join(' ');
  return `<span class="${classes}">${escapeXml(t.text)}</span>`;
}

const cell = (c: Cell): string => (Array.isArray(c) ? c.map(text).join('<br>') : text(c));

function block(b: Block): string {
  switch (b.type) {
    case 'heading':
      return `<h3>${escapeXml(b.text)}</h3>`;
    case 'paragraph':
      return `<p>${escapeXml(b.text)}</p>`;
    case 'empty':
      return `<p class="empty">${escapeXml(b.text)}</p>`;
    case 'warning':
      return `<p class="warning" role="alert">${escapeXml(b.text)}</p>`;
    case 'facts':
      return `<dl class="facts">${b.items.map(([k, v]) => `<dt>${escapeXml(k)}</dt><dd>${cell(v)}</dd>`).join('')}</dl>`;
    case 'table':
      return [
        '<table>',
        `<thead><tr>${b.columns.map((c) => `<th scope="col">${escapeXml(c)}</th>`).join('')}</tr></thead>`,
        '<tbody>',
        ...b.rows.map((row) => `<tr>${row.map((c) => `<td>${cell(c)}</td>`).join('')}</tr>`),
        '</tbody></table>',
      ].join('\n');
    case 'chart':
      return `<figure>\n${chartSvg(b.chart)}\n<figcaption>${escapeXml(b.caption)}</figcaption>\n</figure>`;
  }
}

export function renderHtml(report: Report): string {
  const doc = reportDocument(report);
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeXml(doc.title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    '<header>',
    `<h1>${escapeXml(doc.title)}</h1>`,
    `<p class="subtitle">${escapeXml(doc.subtitle)}</p>`,
    `<dl class="glance">${doc.glance.map(([k, v]) => `<div><dt>${escapeXml(k)}</dt><dd>${cell(v)}</dd></div>`).join('')}</dl>`,
    `<nav><ol>${doc.sections.map((s) => `<li><a href="#${s.id}">${escapeXml(s.title)}</a></li>`).join('')}</ol></nav>`,
    '</header>',
    ...doc.sections.map((s) =>
      [`<section id="${s.id}">`, `<h2>${escapeXml(s.title)}</h2>`, ...s.blocks.map(block), '</section>'].join('\n'),
    ),
    `<footer>Built from the connector's evidence store (schema version ${report.schemaVersion}). Times are UTC.</footer>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
