/**
 * The auditor's report (issue 13 point 3): facts loaded from the evidence store, rendered as one self-contained HTML
 * document, Markdown, or JSON for the platform (the facts themselves, `Report`).
 */
import { renderHtml } from './html';
import { loadReport, type LoadReportOptions } from './load';
import { renderMarkdown } from './markdown';
import type { Report, ReportFormat } from './model';

export { REPORT_FORMATS, type ReportFormat } from './model';

export function renderReport(format: ReportFormat, report: Report): string {
  switch (format) {
    case 'html':
      return renderHtml(report);
    case 'md':
      return renderMarkdown(report);
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
  }
}

/** Loads the report from the store and renders it. */
export async function buildReport(format: ReportFormat, options: LoadReportOptions): Promise<string> {
  return renderReport(format, await loadReport(options));
}

export { loadReport, parseSince, type LoadReportOptions } from './load';
export type * from './model';
