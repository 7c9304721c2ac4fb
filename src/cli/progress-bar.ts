/**
 * A one-line progress bar for long commands (`ges recover`, `ges purge`), drawn on standard error
 * and only when it is a terminal: in a pipe, a log file or a CI job it writes nothing, so the
 * command's output stays the plain result.
 */
export interface ProgressBar {
  update(done: number, total: number, label?: string): void;
  /** Clears the line (the result is printed after it). */
  done(): void;
}

export interface ProgressTarget {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

const WIDTH = 30;
/** Redrawing more often than this only costs terminal output. */
const MIN_REDRAW_MS = 100;

export function progressBar(title: string, out: ProgressTarget = process.stderr, now: () => number = Date.now): ProgressBar {
  if (!out.isTTY) return { update() {}, done() {} };
  let last = -Infinity;
  let drawn = false;
  return {
    update(done, total, label) {
      const t = now();
      if (t - last < MIN_REDRAW_MS && done < total) return;
      last = t;
      drawn = true;
      out.write(`\r\x1b[2K${renderProgress(title, done, total, label, out.columns)}`);
    },
    done() {
      if (drawn) out.write('\r\x1b[2K');
    },
  };
}

/** The bar's text: `title [#####-----]  42% 420/1000 label`, cut to the terminal's width. */
export function renderProgress(title: string, done: number, total: number, label = '', columns = 80): string {
  const ratio = total > 0 ? Math.min(1, Math.max(0, done / total)) : 1;
  const filled = Math.round(ratio * WIDTH);
  const pct = `${Math.floor(ratio * 100)}`.padStart(3);
  const text = `${title} [${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${pct}% ${done}/${total}${label ? ` ${label}` : ''}`;
  return text.length > columns - 1 ? text.slice(0, Math.max(0, columns - 1)) : text;
}
