/**
 * The panel's list table: the columns of a list view described as data
 * (header, cell, class) and rendered as one `<table class="list …">`, inside a
 * `.table-scroll` box when it may be wider than the page, and with each cell
 * labelled by its header when a phone shows every row as a block.
 */
import type { Child } from 'hono/jsx';

/** One column of a list table. */
export interface Column<Row> {
  /** The header; on a stacked table also the label in front of each cell. */
  header: string;
  /** The cell of one row. */
  cell: (row: Row) => Child;
  /** A class on the header and on each cell: the stylesheet sets widths and wrapping by it. */
  class?: string;
}

export interface ListTableProps<Row> {
  /** Classes after `list`, naming the table for the stylesheet and the tests (`log`, `refused`, …). */
  class?: string;
  /** The columns in order; `false` leaves one out (a column only editors see). */
  columns: readonly (Column<Row> | false)[];
  rows: readonly Row[];
  /** Shown instead of the table when there are no rows. */
  empty?: Child;
  /** The table scrolls inside a `.table-scroll` box instead of widening the page. */
  scroll?: boolean;
  /** On a phone each row becomes a block of labelled cells (class `stacked`, `data-label` per cell). */
  stacked?: boolean;
  /** A class on a row's `<tr>`. */
  rowClass?: (row: Row) => string | undefined;
}

/** A list view's table (or `empty` when there are no rows). */
export function ListTable<Row>({ class: className, columns, rows, empty, scroll = false, stacked = false, rowClass }: ListTableProps<Row>) {
  if (rows.length === 0 && empty !== undefined) return <>{empty}</>;
  const shown = columns.filter((column): column is Column<Row> => column !== false);
  const classes = ['list', className, stacked ? 'stacked' : undefined].filter(Boolean).join(' ');
  const table = (
    <table class={classes}>
      <thead>
        <tr>
          {shown.map((column) => (
            <th scope="col" class={column.class}>
              {column.header}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr class={rowClass?.(row)}>
            {shown.map((column) => (
              <td class={column.class} data-label={stacked ? column.header : undefined}>
                {column.cell(row)}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
  return scroll ? <div class="table-scroll">{table}</div> : table;
}
