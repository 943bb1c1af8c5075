/**
 * Feature rows in compressed sparse row (CSR) form, the one input format of the trainer.
 * Text features are sparse (a few hundred of thousands of hash buckets per e-mail);
 * dense tabular rows are the special case where every column is stored.
 */
import { InvalidArgumentError } from '../../src/errors';

export interface SparseRows {
  /** Number of rows (samples). */
  readonly rows: number;
  /** Number of columns (features). */
  readonly columns: number;
  /** Row r's entries are indices/values[rowStarts[r] .. rowStarts[r + 1]); length rows + 1. */
  readonly rowStarts: Int32Array;
  readonly indices: Int32Array;
  readonly values: Float64Array;
}

/** One row's stored entries: column indices (ascending, distinct) and their values. */
export interface SparseVector {
  indices: Int32Array;
  values: Float64Array;
}

/** Dense rows (all of the same length) as CSR; every entry is stored, zeros included. */
export function denseRows(rows: readonly (readonly number[])[]): SparseRows {
  const columns = rows[0]?.length ?? 0;
  const indices = new Int32Array(rows.length * columns);
  const values = new Float64Array(rows.length * columns);
  const rowStarts = new Int32Array(rows.length + 1);
  rows.forEach((row, r) => {
    if (row.length !== columns) throw new InvalidArgumentError(`dense rows: row ${r} has ${row.length} values, row 0 has ${columns}`);
    for (let c = 0; c < columns; c++) {
      indices[r * columns + c] = c;
      values[r * columns + c] = row[c]!;
    }
    rowStarts[r + 1] = (r + 1) * columns;
  });
  return { rows: rows.length, columns, rowStarts, indices, values };
}

/** Stacks sparse vectors into CSR rows of `columns` columns. */
export function stackSparse(vectors: readonly SparseVector[], columns: number): SparseRows {
  const rowStarts = new Int32Array(vectors.length + 1);
  vectors.forEach((v, r) => {
    rowStarts[r + 1] = rowStarts[r]! + v.indices.length;
  });
  const indices = new Int32Array(rowStarts[vectors.length]!);
  const values = new Float64Array(indices.length);
  vectors.forEach((v, r) => {
    for (const index of v.indices) {
      if (index < 0 || index >= columns) throw new InvalidArgumentError(`sparse rows: row ${r} has column ${index}, outside [0, ${columns})`);
    }
    indices.set(v.indices, rowStarts[r]);
    values.set(v.values, rowStarts[r]);
  });
  return { rows: vectors.length, columns, rowStarts, indices, values };
}

/** The rows at `picks`, in that order (for train/held-out splits). */
export function selectRows(data: SparseRows, picks: readonly number[]): SparseRows {
  const rowStarts = new Int32Array(picks.length + 1);
  picks.forEach((row, i) => {
    rowStarts[i + 1] = rowStarts[i]! + (data.rowStarts[row + 1]! - data.rowStarts[row]!);
  });
  const indices = new Int32Array(rowStarts[picks.length]!);
  const values = new Float64Array(indices.length);
  picks.forEach((row, i) => {
    const [from, to] = [data.rowStarts[row]!, data.rowStarts[row + 1]!];
    indices.set(data.indices.subarray(from, to), rowStarts[i]);
    values.set(data.values.subarray(from, to), rowStarts[i]);
  });
  return { rows: picks.length, columns: data.columns, rowStarts, indices, values };
}

