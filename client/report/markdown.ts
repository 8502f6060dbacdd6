/**
 * The report as Markdown (GitHub flavour): the same document as the HTML, the chart as a table of counts. DocuSign
 * data is untrusted: every value is backslash-escaped (Markdown and inline HTML syntax), and line breaks inside a
 * value become spaces, so a value can neither add markup nor break a table.
 */
import { reportDocument, type Block, type Cell, type Text } from './document';
import type { EnvelopeChart, Report } from './model';

/**
 * Backslash-escapes the punctuation that can start Markdown or HTML syntax inside a line (emphasis, code, links,
 * tags, entities, table cells); what only matters at a line's start cannot occur, since no value starts a line.
 */
const escapeMarkdown = (value: string): string => value.replace(/[\r\n]+/g, ' ').replace(/[\\`*_[\]<>|~&]/g, '\\$&');

function text(t: Text): string {
  if (typeof t === 'string') return escapeMarkdown(t);
  const value = escapeMarkdown(t.text);
  if (t.tone === 'fail') return `**${value}**`;
  if (t.tone === 'muted') return `_${value}_`;
  return value;
}

// A line break inside a table cell is HTML in GitHub Markdown: the one tag this renderer writes itself.
const cell = (c: Cell): string => (Array.isArray(c) ? c.map(text).join('<br>') : text(c));

const row = (cells: string[]): string => `| ${cells.join(' | ')} |`;
const table = (columns: string[], rows: string[][]): string[] => [
  row(columns.map(escapeMarkdown)),
  row(columns.map(() => '---')),
  ...rows.map(row),
];

function chartTable(chart: EnvelopeChart): string[] {
  return table(
    ['Month', ...chart.statuses, 'Total'],
    chart.months.map((m) => [m.month, ...chart.statuses.map((s) => String(m.counts[s] ?? 0)), String(m.total)]),
  );
}

function block(b: Block): string[] {
  switch (b.type) {
    case 'heading':
      return [`### ${escapeMarkdown(b.text)}`];
    case 'paragraph':
      return [escapeMarkdown(b.text)];
    case 'empty':
      return [`_${escapeMarkdown(b.text)}_`];
    case 'warning':
      return [`> **Warning:** ${escapeMarkdown(b.text)}`];
    case 'facts':
      return b.items.map(([k, v]) => `- **${escapeMarkdown(k)}:** ${cell(v)}`);
    case 'table':
      return table(
        b.columns,
        b.rows.map((r) => r.map(cell)),
      );
    case 'chart':
      return [...chartTable(b.chart), '', `_${escapeMarkdown(b.caption)}_`];
  }
}

export function renderMarkdown(report: Report): string {
  const doc = reportDocument(report);
  const lines = [
    `# ${escapeMarkdown(doc.title)}`,
    '',
    escapeMarkdown(doc.subtitle),
    '',
    ...doc.glance.map(([k, v]) => `- **${escapeMarkdown(k)}:** ${cell(v)}`),
  ];
  for (const section of doc.sections) {
    lines.push('', `## ${escapeMarkdown(section.title)}`);
    for (const b of section.blocks) lines.push('', ...block(b));
  }
  return `${lines.join('\n')}\n`;
}
