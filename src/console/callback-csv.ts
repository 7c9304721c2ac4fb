import type { CallbackListRow } from '../app/callback-list.ts';

/** The header line of the callback list's CSV export. */
export const CSV_HEADER = 'Callback ID,State,Completed Reason,Desired Callback Time (UTC),Phone Number,Service Name,Time Created (UTC),Time Updated (UTC)\r\n';

/** A spreadsheet must not read a cell as a formula (CSV injection); a plain +digits number is safe. */
function csvCell(value: string): string {
  const v = /^[=+\-@\t\r]/.test(value) && !/^\+\d+$/.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** One callback as a CSV line (times in UTC). */
export function csvLine(r: CallbackListRow): string {
  return (
    [r.id, r.state, r.reason ?? '', r.desiredTime.toISOString(), r.phoneNumber, r.serviceName, r.createdAt.toISOString(), r.updatedAt.toISOString()]
      .map(csvCell)
      .join(',') + '\r\n'
  );
}
