import type { ReactNode } from 'react'
import { useI18n } from '../../i18n/i18n'
import { Button } from '../Button'

/** ViewToggle is a chart's "Show as table" / "Show as chart" button. */
export function ViewToggle({ table, onChange }: { table: boolean; onChange: (table: boolean) => void }) {
  const { t } = useI18n()
  return (
    <div className="chart-actions">
      <Button size="sm" variant="ghost" icon={table ? 'activity' : 'scroll'} onClick={() => onChange(!table)} aria-pressed={table}>
        {table ? t('usage.view.chart') : t('usage.view.table')}
      </Button>
    </div>
  )
}

/**
 * ChartTable is a chart shown as a data table, captioned (for assistive technology) with the
 * chart's text summary. The first column names the row; the others are numbers.
 */
export function ChartTable({ caption, columns, children }: { caption: string; columns: string[]; children: ReactNode }) {
  return (
    <div className="table-wrap table-flush chart-table">
      <table className="table">
        <caption className="sr-only">{caption}</caption>
        <thead>
          <tr>
            {columns.map((c, i) => <th key={i} scope="col" className={i === 0 ? undefined : 'num'}>{c}</th>)}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  )
}
