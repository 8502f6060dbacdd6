/**
 * Envelopes by status per month as an inline SVG stacked bar chart: no script, no font or network fetch, the same
 * bytes for the same facts (coordinates rounded to 0.1), readable in print (real fills, axis titles, a legend with
 * counts). Every text in it is escaped.
 */
import type { EnvelopeChart } from './model';

/** Fixed colours for DocuSign's statuses; any other status takes the next of OTHER_COLOURS in legend order. */
const STATUS_COLOURS: Record<string, string> = {
  created: '#b0bec5',
  sent: '#1565c0',
  delivered: '#64b5f6',
  signed: '#7e57c2',
  completed: '#2e7d32',
  declined: '#c62828',
  voided: '#757575',
  timedout: '#ef6c00',
  deleted: '#37474f',
  processing: '#00897b',
};
const OTHER_COLOURS = ['#8d6e63', '#ad1457', '#9e9d24', '#5c6bc0', '#00acc1'];

const WIDTH = 760;
const PLOT = { left: 64, right: 16, top: 16, height: 220 };
const MONTH_LABEL_HEIGHT = 44;
const LEGEND_ROW = 22;
const LEGEND_ITEM_WIDTH = 150;

export const escapeXml = (value: string): string => value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const n = (value: number): string => String(Math.round(value * 10) / 10);

/** A round axis maximum and tick step (1, 2 or 5 × 10^k) giving at most 5 ticks above zero. */
export function axisScale(max: number): { top: number; step: number } {
  if (max <= 0) return { top: 1, step: 1 };
  for (let magnitude = 1; ; magnitude *= 10) {
    for (const f of [1, 2, 5]) {
      const step = f * magnitude;
      if (step * 5 >= max) return { top: Math.ceil(max / step) * step, step };
    }
  }
}

export function chartSvg(chart: EnvelopeChart): string {
  const colours = new Map<string, string>();
  let other = 0;
  for (const s of chart.statuses) colours.set(s, STATUS_COLOURS[s] ?? OTHER_COLOURS[other++ % OTHER_COLOURS.length]!);

  const plotWidth = WIDTH - PLOT.left - PLOT.right;
  const bottom = PLOT.top + PLOT.height;
  const { top, step } = axisScale(Math.max(0, ...chart.months.map((m) => m.total)));
  const y = (value: number) => bottom - (value / top) * PLOT.height;
  const slot = plotWidth / Math.max(1, chart.months.length);
  const barWidth = Math.max(1, Math.min(48, slot * 0.7));
  // Thin out month labels so they never overlap (about 40 px each).
  const labelEvery = Math.ceil(40 / slot);

  const parts: string[] = [];
  for (let v = 0; v <= top; v += step) {
    parts.push(
      `<line x1="${PLOT.left}" x2="${WIDTH - PLOT.right}" y1="${n(y(v))}" y2="${n(y(v))}" class="chart-grid"/>`,
      `<text x="${PLOT.left - 6}" y="${n(y(v) + 4)}" text-anchor="end" class="chart-tick">${v}</text>`,
    );
  }
  chart.months.forEach((m, i) => {
    const x = PLOT.left + slot * i + (slot - barWidth) / 2;
    let base = 0;
    for (const [status, count] of Object.entries(m.counts)) {
      const label = escapeXml(`${m.month} ${status}: ${count}`);
      parts.push(
        `<rect class="chart-bar" x="${n(x)}" y="${n(y(base + count))}" width="${n(barWidth)}" height="${n(y(base) - y(base + count))}" fill="${colours.get(status) ?? OTHER_COLOURS[0]!}"><title>${label}</title></rect>`,
      );
      base += count;
    }
    if (m.total > 0) {
      parts.push(
        `<text x="${n(x + barWidth / 2)}" y="${n(y(m.total) - 4)}" text-anchor="middle" class="chart-total">${m.total}</text>`,
      );
    }
    if (i % labelEvery === 0) {
      const cx = n(PLOT.left + slot * i + slot / 2);
      parts.push(
        `<text x="${cx}" y="${bottom + 16}" text-anchor="middle" class="chart-tick">${escapeXml(m.month)}</text>`,
      );
    }
  });
  parts.push(
    `<line x1="${PLOT.left}" x2="${WIDTH - PLOT.right}" y1="${bottom}" y2="${bottom}" class="chart-axis"/>`,
    `<line x1="${PLOT.left}" x2="${PLOT.left}" y1="${PLOT.top}" y2="${bottom}" class="chart-axis"/>`,
    `<text transform="translate(16 ${n(PLOT.top + PLOT.height / 2)}) rotate(-90)" text-anchor="middle" class="chart-title">Envelopes</text>`,
    `<text x="${n(PLOT.left + plotWidth / 2)}" y="${bottom + 36}" text-anchor="middle" class="chart-title">Month of the latest status change (UTC)</text>`,
  );

  const perRow = Math.floor((WIDTH - PLOT.left) / LEGEND_ITEM_WIDTH);
  const legendTop = bottom + MONTH_LABEL_HEIGHT;
  chart.statuses.forEach((status, i) => {
    const total = chart.months.reduce((sum, m) => sum + (m.counts[status] ?? 0), 0);
    const x = PLOT.left + (i % perRow) * LEGEND_ITEM_WIDTH;
    const ly = legendTop + Math.floor(i / perRow) * LEGEND_ROW;
    parts.push(
      `<g class="chart-legend"><rect x="${x}" y="${ly}" width="12" height="12" fill="${colours.get(status)!}"/>`,
      `<text x="${x + 18}" y="${ly + 10}" class="chart-tick">${escapeXml(`${status} (${total})`)}</text></g>`,
    );
  });
  const height = legendTop + Math.ceil(chart.statuses.length / perRow) * LEGEND_ROW + 4;

  const summary = escapeXml(
    `Envelopes by status per month, ${chart.months[0]?.month ?? ''} to ${chart.months.at(-1)?.month ?? ''}: ${chart.total} envelopes`,
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="${summary}">`,
    `<title>${summary}</title>`,
    '<style>.chart-grid{stroke:#e0e0e0;stroke-width:1}.chart-axis{stroke:#424242;stroke-width:1}.chart-tick{font:11px sans-serif;fill:#424242}.chart-total{font:bold 11px sans-serif;fill:#212121}.chart-title{font:12px sans-serif;fill:#212121}</style>',
    ...parts,
    '</svg>',
  ].join('\n');
}
