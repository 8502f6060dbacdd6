/**
 * The auditor's report (issue 13 point 3): facts loaded from the evidence store, rendered as one self-contained HTML
 * document, Markdown, or JSON for the platform (the facts themselves, `Report`).
 */
import { storeBehindWarning } from './document';
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

/**
 * A rendered report, and the line saying it is incomplete (naming the store read) when that store lacks what the
 * workflow stored.
 */
export interface RenderedReport {
  text: string;
  incomplete?: string;
}

/** Loads the report from the store and renders it. */
export async function buildReport(format: ReportFormat, options: LoadReportOptions): Promise<RenderedReport> {
  const report = await loadReport(options);
  const warning = storeBehindWarning(report.connection.storeBehind);
  const incomplete = warning && `${warning} The store read: ${options.store.description}.`;
  return { text: renderReport(format, report), ...(incomplete && { incomplete }) };
}

export { loadReport, parseSince, type LoadReportOptions } from './load';
export type * from './model';
