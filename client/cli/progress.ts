/** A running sync's progress on stderr while `sync --wait` waits: a rewritten line on a TTY, else a line per change. */
import type { ConnectorClient } from '../client';
import type { Io } from './context';

/** Runs `work` while showing the sync's progress; resolves (or rejects) with `work`. */
export async function withProgress<T>(client: ConnectorClient, id: string, io: Io, work: Promise<T>): Promise<T> {
  const started = Date.now();
  const tty = !!io.progress.isTTY;
  let done = false;
  let last = '';
  const settled = work.finally(() => {
    done = true;
  });
  const poll = (async () => {
    while (!done) {
      await Promise.race([settled.catch(() => undefined), new Promise((r) => setTimeout(r, tty ? 500 : 1000))]);
      if (done) break;
      const p = await client.syncProgress(id).catch(() => undefined);
      if (!p || done) continue;
      const pages = p.pages === undefined ? '' : `, ${p.pages} page${p.pages === 1 ? '' : 's'} stored`;
      const retry =
        p.attempt && p.attempt > 1 ? `, attempt ${p.attempt}${p.lastFailure ? ` after: ${p.lastFailure}` : ''}` : '';
      const line = `sync ${id}: ${p.phase}${pages}${retry}`;
      if (tty) {
        io.progress.write(`\r\x1b[K${line} (${Math.round((Date.now() - started) / 1000)} s)`);
      } else if (line !== last) {
        io.err(line);
      }
      last = line;
    }
    if (tty && last) io.progress.write('\r\x1b[K');
  })();
  try {
    return await settled;
  } finally {
    await poll;
  }
}
