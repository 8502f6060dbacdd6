/**
 * Account API limits (docusign-api.md §4.1): an hourly and a burst budget per account, each a fixed window aligned
 * to the epoch (so the default hourly window resets at the top of the clock hour, as DocuSign's does), on the
 * emulator clock. Plus the per-envelope polling limit of §4.2 and the per-document download limits of §3.3.
 */

export interface RateLimitConfig {
  hourlyLimit: number;
  hourlyWindowSeconds: number;
  burstLimit: number;
  burstWindowSeconds: number;
  status: 400 | 429;
}

export const DEFAULT_RATE_LIMIT: RateLimitConfig = {
  hourlyLimit: 3000,
  hourlyWindowSeconds: 3600,
  burstLimit: 500,
  burstWindowSeconds: 30,
  status: 400,
};

export interface RateLimitHeaders {
  'X-RateLimit-Limit': string;
  'X-RateLimit-Remaining': string;
  'X-RateLimit-Reset': string;
  'X-BurstLimit-Limit': string;
  'X-BurstLimit-Remaining': string;
}

export type Admission = { ok: true } | { ok: false; which: 'hourly' | 'burst' };

interface Bucket {
  hourWindow: number;
  hourUsed: number;
  burstWindow: number;
  burstUsed: number;
}

export class RateLimiter {
  config: RateLimitConfig = { ...DEFAULT_RATE_LIMIT };
  private buckets = new Map<string, Bucket>();
  /** Window index during which the budget is forced to 0 (exhaustHourly/exhaustBurst), if any. */
  private forcedHourWindow: number | undefined;
  private forcedBurstWindow: number | undefined;

  private windows(nowSec: number): { hour: number; burst: number } {
    return {
      hour: Math.floor(nowSec / this.config.hourlyWindowSeconds),
      burst: Math.floor(nowSec / this.config.burstWindowSeconds),
    };
  }

  private bucket(key: string, nowSec: number): Bucket {
    const w = this.windows(nowSec);
    let b = this.buckets.get(key);
    if (!b) {
      b = { hourWindow: w.hour, hourUsed: 0, burstWindow: w.burst, burstUsed: 0 };
      this.buckets.set(key, b);
    }
    if (b.hourWindow !== w.hour) {
      b.hourWindow = w.hour;
      b.hourUsed = 0;
    }
    if (b.burstWindow !== w.burst) {
      b.burstWindow = w.burst;
      b.burstUsed = 0;
    }
    return b;
  }

  private remaining(key: string, nowSec: number): { hourly: number; burst: number } {
    const b = this.bucket(key, nowSec);
    const hourly = this.forcedHourWindow === b.hourWindow ? 0 : Math.max(0, this.config.hourlyLimit - b.hourUsed);
    const burst = this.forcedBurstWindow === b.burstWindow ? 0 : Math.max(0, this.config.burstLimit - b.burstUsed);
    return { hourly, burst };
  }

  /** Takes one call from the account's budgets, or says which budget is exhausted (the call is then not counted). */
  admit(key: string, nowSec: number): Admission {
    const r = this.remaining(key, nowSec);
    if (r.hourly <= 0) return { ok: false, which: 'hourly' };
    if (r.burst <= 0) return { ok: false, which: 'burst' };
    const b = this.bucket(key, nowSec);
    b.hourUsed++;
    b.burstUsed++;
    return { ok: true };
  }

  headers(key: string, nowSec: number): RateLimitHeaders {
    const r = this.remaining(key, nowSec);
    const w = this.windows(nowSec);
    return {
      'X-RateLimit-Limit': String(this.config.hourlyLimit),
      'X-RateLimit-Remaining': String(r.hourly),
      'X-RateLimit-Reset': String((w.hour + 1) * this.config.hourlyWindowSeconds),
      'X-BurstLimit-Limit': String(this.config.burstLimit),
      'X-BurstLimit-Remaining': String(r.burst),
    };
  }

  exhaustHourly(nowSec: number): void {
    this.forcedHourWindow = this.windows(nowSec).hour;
  }

  exhaustBurst(nowSec: number): void {
    this.forcedBurstWindow = this.windows(nowSec).burst;
  }

  clearForced(): void {
    this.forcedHourWindow = undefined;
    this.forcedBurstWindow = undefined;
  }

  setConfig(partial: Partial<RateLimitConfig> | undefined): void {
    const before = this.config;
    this.config = partial === undefined ? { ...DEFAULT_RATE_LIMIT } : { ...this.config, ...stripUndefined(partial) };
    // Window lengths changed: the old window indices mean nothing any more.
    if (
      before.hourlyWindowSeconds !== this.config.hourlyWindowSeconds ||
      before.burstWindowSeconds !== this.config.burstWindowSeconds
    ) {
      this.buckets.clear();
      this.clearForced();
    }
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Per-resource GET counter for one envelope (docusign-api.md §4.2), fixed windows on the emulator clock. */
export class PollingLimiter {
  limit = 10;
  windowSeconds = 900;
  private counts = new Map<string, { window: number; n: number }>();

  /** Counts one GET; false when this GET is over the limit. */
  hit(key: string, nowSec: number): boolean {
    const window = Math.floor(nowSec / this.windowSeconds);
    let c = this.counts.get(key);
    if (!c || c.window !== window) {
      c = { window, n: 0 };
      this.counts.set(key, c);
    }
    c.n++;
    return c.n <= this.limit;
  }

  set(limit: number | undefined, windowSeconds: number | undefined): void {
    if (limit !== undefined) this.limit = limit;
    if (windowSeconds !== undefined) this.windowSeconds = windowSeconds;
    this.counts.clear();
  }
}

/** §3.3: `combined` downloads have lower limits than single documents, `archive`, `certificate` and `portfolio`. */
const COMBINED_DOWNLOAD_LIMIT = { perHour: 3, perSixHours: 5 };

/**
 * Downloads of one document (docusign-api.md §3.3): at most `perHour` started within the last hour and `perSixHours`
 * within the last 6 hours, sliding windows on the emulator clock. Refused downloads do not count.
 */
export class DownloadLimiter {
  perHour = 10;
  perSixHours = 20;
  private starts = new Map<string, number[]>();

  /** Records one download start of the document `key`; false when either window is full. */
  admit(key: string, combined: boolean, nowSec: number): boolean {
    const limit = combined ? COMBINED_DOWNLOAD_LIMIT : this;
    const recent = (this.starts.get(key) ?? []).filter((t) => t > nowSec - 6 * 3600);
    const lastHour = recent.filter((t) => t > nowSec - 3600).length;
    const ok = lastHour < limit.perHour && recent.length < limit.perSixHours;
    if (ok) recent.push(nowSec);
    this.starts.set(key, recent);
    return ok;
  }

  set(perHour: number | undefined, perSixHours: number | undefined): void {
    if (perHour !== undefined) this.perHour = perHour;
    if (perSixHours !== undefined) this.perSixHours = perSixHours;
    this.starts.clear();
  }
}
