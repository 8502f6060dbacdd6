/**
 * A tiny but structurally valid PDF 1.4 (catalog, pages, one page, Helvetica, one content stream, a correct xref
 * table and trailer), used for the certificate of completion and document downloads.
 */

function escapePdfText(s: string): string {
  // Keep to printable ASCII; PDF literal strings need \, ( and ) escaped.
  return s.replace(/[^\x20-\x7e]/g, '?').replace(/([\\()])/g, '\\$1');
}

export function buildPdf(title: string, lines: string[]): Buffer {
  const textOps = [`BT /F1 18 Tf 72 740 Td (${escapePdfText(title)}) Tj ET`];
  let y = 710;
  for (const line of lines.slice(0, 40)) {
    textOps.push(`BT /F1 10 Tf 72 ${y} Td (${escapePdfText(line)}) Tj ET`);
    y -= 16;
  }
  const content = textOps.join('\n');
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>',
    `<< /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n${content}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
    `<< /Title (${escapePdfText(title)}) /Producer (DocuSign emulator) >>`,
  ];
  let body = '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n';
  const offsets: number[] = [];
  objects.forEach((obj, i) => {
    offsets.push(Buffer.byteLength(body, 'latin1'));
    body += `${i + 1} 0 obj\n${obj}\nendobj\n`;
  });
  const xrefAt = Buffer.byteLength(body, 'latin1');
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const off of offsets) body += `${String(off).padStart(10, '0')} 00000 n \n`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R /Info 6 0 R >>\nstartxref\n${xrefAt}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}
