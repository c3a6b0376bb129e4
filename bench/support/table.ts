/**
 * @module bench/support/table — plain aligned-text tables (console.table quotes strings and adds
 * an index column), plus the number formats the benchmark prints.
 */

/** A column: header text and whether its cells are right-aligned (numbers). */
export interface Column {
  title: string;
  right?: boolean;
}

/** Prints `title`, then the rows aligned under the column headers. */
export function printTable(title: string, columns: readonly Column[], rows: readonly string[][]) {
  const widths = columns.map((c, i) =>
    Math.max(c.title.length, ...rows.map((r) => (r[i] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => {
        const w = widths[i] ?? 0;
        return columns[i]?.right === true ? cell.padStart(w) : cell.padEnd(w);
      })
      .join('  ')
      .trimEnd();
  console.log(`\n${title}`);
  console.log(line(columns.map((c) => c.title)));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

/** 12,345 */
export const perSec = (n: number): string =>
  n.toLocaleString('en-US', { maximumFractionDigits: n < 100 ? 1 : 0 });

/** Microseconds per operation from operations per second, e.g. 1.23 */
export const micros = (opsPerSec: number): string => (1e6 / opsPerSec).toFixed(2);

/** 0.87× */
export const ratio = (r: number): string => `${r.toFixed(2)}×`;

export const verdict = (ok: boolean): string => (ok ? 'PASS' : 'FAIL');
