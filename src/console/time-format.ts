/**
 * How the console writes instants: in the tenant's zone or in UTC, with a 24- or 12-hour clock, as
 * the original's "Show Times in UTC" and "Show Time in 24 Hour" options. Formatters are costly to
 * build and a list page writes hundreds of times, so they are kept per (zone, clock).
 */

const cache = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string, h24: boolean, withDate: boolean): Intl.DateTimeFormat {
  const key = `${zone}|${h24}|${withDate}`;
  let f = cache.get(key);
  if (!f) {
    if (cache.size > 1000) cache.clear();
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      ...(withDate ? { year: 'numeric', month: '2-digit', day: '2-digit' } : {}),
      hour: h24 ? '2-digit' : 'numeric',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: h24 ? 'h23' : 'h12',
    });
    cache.set(key, f);
  }
  return f;
}

export class TimeFormat {
  constructor(
    readonly zone: string,
    readonly h24: boolean,
  ) {}

  /** `2026-11-26 14:05:09` or `2026-11-26 2:05:09 PM`. */
  dateTime(d: Date | number | undefined | null): string {
    if (d === undefined || d === null) return '';
    const p = this.#parts(d, true);
    return `${p.year}-${p.month}-${p.day} ${this.#clock(p)}`;
  }

  /** `14:05:09` or `2:05:09 PM`. */
  time(d: Date | number): string {
    return this.#clock(this.#parts(d, false));
  }

  /** `HH:MM` or `h:MM AM`, for slot pickers and chart axes. */
  shortTime(d: Date | number): string {
    const p = this.#parts(d, false);
    return this.h24 ? `${p.hour}:${p.minute}` : `${p.hour}:${p.minute} ${p.dayPeriod}`;
  }

  /** The zone as shown next to times. */
  get label(): string {
    return this.zone === 'UTC' ? 'UTC' : this.zone;
  }

  #clock(p: Record<string, string>): string {
    return this.h24 ? `${p.hour}:${p.minute}:${p.second}` : `${p.hour}:${p.minute}:${p.second} ${p.dayPeriod}`;
  }

  #parts(d: Date | number, withDate: boolean): Record<string, string> {
    const out: Record<string, string> = {};
    for (const part of formatter(this.zone, this.h24, withDate).formatToParts(d)) out[part.type] = part.value;
    return out;
  }
}

/** `1 h 05 min`, `4 min 10 s`, `35 s`: durations such as an EWT. */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}
