/**
 * @module cli/progress — download progress for a terminal: a bar redrawn in place when the
 * stream is a TTY, a plain line per 10 % (or per 10 MiB when the size is unknown) otherwise,
 * so logs of non-interactive runs stay short.
 */

/** `1.5 MiB`-style sizes. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i] ?? ''}`;
}

/** How far a download has come. */
export interface Progress {
  /** Bytes in the `.part` file so far, including any resumed prefix. */
  readonly received: number;
  /** Size of the whole file, when the server says. */
  readonly total: number | undefined;
  /** Bytes per second over this run. */
  readonly rate: number;
}

/** Draws progress; `end()` finishes the line before anything else is written. */
export interface ProgressReporter {
  update(p: Progress): void;
  end(): void;
}

/** Progress on `stream`: a redrawn bar on a terminal, a line per 10 % otherwise. */
export function progressReporter(stream: NodeJS.WriteStream): ProgressReporter {
  let step = -1;
  let drawn = false;
  return {
    update(p: Progress): void {
      const pct =
        p.total === undefined || p.total === 0
          ? undefined
          : Math.min(100, Math.floor((p.received * 100) / p.total));
      const text =
        (pct === undefined ? '' : `${String(pct).padStart(3)}%  `) +
        formatBytes(p.received) +
        (p.total === undefined ? '' : ` / ${formatBytes(p.total)}`) +
        `  ${formatBytes(Math.round(p.rate))}/s`;
      if (stream.isTTY) {
        const filled = pct === undefined ? 0 : Math.round(pct / 4);
        const bar = pct === undefined ? '' : `[${'#'.repeat(filled)}${'.'.repeat(25 - filled)}] `;
        stream.write(`\r${bar}${text}\x1b[K`);
        drawn = true;
        return;
      }
      // Unknown size: a line per 10 MiB instead.
      const now = pct === undefined ? Math.floor(p.received / 10_485_760) : Math.floor(pct / 10);
      if (now > step) {
        step = now;
        stream.write(`${text}\n`);
      }
    },
    end(): void {
      if (drawn) stream.write('\n');
      drawn = false;
    },
  };
}
