import type { QueueSample } from '../app/queue-monitor-source.ts';
import type { TimeFormat } from './time-format.ts';

/**
 * The queue chart as inline SVG written on the server: queue length (left axis) and EWT (right
 * axis) over the last hour. No script and no style attribute, so it passes the console's strict
 * CSP; colours come from classes in console.css. The text is escaped here because the template
 * inserts the SVG unescaped.
 */

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A round upper bound for an axis: 1, 2, 5, 10, 20, 50 ... at least `min`. */
function niceMax(value: number, min: number): number {
  const v = Math.max(value, min);
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

export interface ChartOptions {
  fromMs: number;
  toMs: number;
  fmt: TimeFormat;
  title: string;
  /** Unique on the page: names the title and description elements. */
  id: string;
  width?: number;
  height?: number;
}

export function queueChartSvg(samples: readonly QueueSample[], o: ChartOptions): string {
  const width = o.width ?? 520;
  const height = o.height ?? 170;
  const left = 40;
  const right = 48;
  const top = 12;
  const bottom = 26;
  const w = width - left - right;
  const h = height - top - bottom;
  const x = (t: number) => left + ((t - o.fromMs) / Math.max(1, o.toMs - o.fromMs)) * w;
  const maxLen = niceMax(Math.max(0, ...samples.map((s) => s.queueLength)), 5);
  const ewts = samples.map((s) => s.ewtSeconds).filter((v): v is number => v !== undefined && v >= 0);
  const maxEwt = niceMax(Math.max(0, ...ewts) / 60, 5); // minutes
  const yLen = (n: number) => top + h - (n / maxLen) * h;
  const yEwt = (sec: number) => top + h - (sec / 60 / maxEwt) * h;
  const f = (n: number) => n.toFixed(1);

  const parts: string[] = [];
  const summary =
    samples.length === 0
      ? 'No samples yet: the chart fills while the monitor is open.'
      : `${samples.length} samples; queue length now ${samples.at(-1)!.queueLength}, highest ${Math.max(...samples.map((s) => s.queueLength))}.`;
  parts.push(
    `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-labelledby="${esc(o.id)}-t ${esc(o.id)}-d">`,
  );
  parts.push(`<title id="${esc(o.id)}-t">${esc(o.title)}</title><desc id="${esc(o.id)}-d">${esc(summary)}</desc>`);
  parts.push(`<rect class="chart-bg" x="${left}" y="${top}" width="${w}" height="${h}"/>`);
  for (let i = 0; i <= 4; i++) {
    const y = top + (h * i) / 4;
    parts.push(`<line class="chart-grid" x1="${left}" x2="${left + w}" y1="${f(y)}" y2="${f(y)}"/>`);
    parts.push(`<text class="chart-axis len" x="${left - 4}" y="${f(y + 4)}" text-anchor="end">${Math.round(maxLen * (1 - i / 4))}</text>`);
    parts.push(`<text class="chart-axis ewt" x="${left + w + 4}" y="${f(y + 4)}">${esc(String(Math.round(maxEwt * (1 - i / 4) * 10) / 10))}m</text>`);
  }
  for (let t = Math.ceil(o.fromMs / 900_000) * 900_000; t <= o.toMs; t += 900_000) {
    parts.push(`<text class="chart-axis" x="${f(x(t))}" y="${height - 8}" text-anchor="middle">${esc(o.fmt.shortTime(t))}</text>`);
  }
  const line = (points: string[], cls: string) => {
    if (points.length === 1) points.push(points[0]!.replace(/^([\d.]+)/, (m) => f(Number(m) + 2)));
    if (points.length > 0) parts.push(`<polyline class="${cls}" fill="none" points="${points.join(' ')}"/>`);
  };
  line(
    samples.map((s) => `${f(x(s.at.getTime()))},${f(yLen(s.queueLength))}`),
    'chart-len',
  );
  line(
    samples.filter((s) => s.ewtSeconds !== undefined && s.ewtSeconds >= 0).map((s) => `${f(x(s.at.getTime()))},${f(yEwt(s.ewtSeconds!))}`),
    'chart-ewt',
  );
  if (samples.length === 0) parts.push(`<text class="chart-empty" x="${left + w / 2}" y="${top + h / 2}" text-anchor="middle">no data yet</text>`);
  parts.push('</svg>');
  return parts.join('');
}
