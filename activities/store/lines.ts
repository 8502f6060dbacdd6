/** Reading a JSON-lines file line by line, with each line's byte position (to read one line back later). */
import fs from 'node:fs/promises';

export interface Line {
  text: string;
  /** Byte offset of the line in the file, and its length in bytes without the newline. */
  offset: number;
  length: number;
}

const CHUNK = 1 << 20;

/** Complete lines of `file` (a last line without a newline is not complete: a write in progress or torn). */
export async function* readLines(file: string): AsyncIterable<Line> {
  const handle = await fs.open(file, 'r');
  try {
    let carry = Buffer.alloc(0);
    let carryStart = 0;
    for (let position = 0; ;) {
      const chunk = Buffer.alloc(CHUNK);
      const { bytesRead } = await handle.read(chunk, 0, CHUNK, position);
      if (bytesRead === 0) return;
      position += bytesRead;
      const buf = carry.length ? Buffer.concat([carry, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead);
      let start = 0;
      for (let nl = buf.indexOf(0x0a); nl !== -1; nl = buf.indexOf(0x0a, start)) {
        if (nl > start) yield { text: buf.toString('utf8', start, nl), offset: carryStart + start, length: nl - start };
        start = nl + 1;
      }
      carry = Buffer.from(buf.subarray(start));
      carryStart += start;
    }
  } finally {
    await handle.close();
  }
}

/** One line back, by the position `readLines` gave. */
export async function readLineAt(file: string, offset: number, length: number): Promise<string> {
  const handle = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buf, 0, length, offset);
    if (bytesRead !== length) throw new Error(`${file} is shorter than expected at byte ${offset}`);
    return buf.toString('utf8');
  } finally {
    await handle.close();
  }
}
