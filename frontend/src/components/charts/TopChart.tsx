import { useId, useState } from 'react'
import { Bar, BarChart, CartesianGrid, Tooltip, XAxis, YAxis } from 'recharts'
import type { TopItem } from '../../api/operations'
import { useI18n } from '../../i18n/i18n'
import { ChartTable, ViewToggle } from './ChartTable'
import { axis, gridStroke, tooltip } from './look'
import { errorRate, ms, percent } from './usage'

interface Props {
  title: string
  items: TopItem[]
  by: 'key' | 'route'
  testId?: string
}

/**
 * TopChart draws the busiest keys or routes as horizontal bars (requests), with a text
 * summary as the figure's label and a table view with errors and latency.
 */
export function TopChart({ title, items, by, testId }: Props) {
  const i18n = useI18n()
  const { t, lang, dir, number, bidi } = i18n
  const [table, setTable] = useState(false)
  const captionId = useId()
  const nameOf = (it: TopItem) => by === 'key'
    ? (it.keyName || it.keyId || t('usage.top.no_key'))
    : (it.route || t('usage.top.no_route'))
  const list = new Intl.ListFormat(lang, { type: 'unit', style: 'short' })
  const text = items.length === 0 ? `${title}: ${t('usage.empty')}`
    : t('usage.top.summary', { Title: title, List: list.format(items.map((it) => t('usage.top.item', { Name: nameOf(it), Requests: number(it.total ?? 0) }))) })
  const rtl = dir === 'rtl'
  const data = items.map((it) => ({ name: bidi(nameOf(it)), total: it.total ?? 0 }))
  return (
    <figure className="chart chart-top" data-testid={testId}>
      <figcaption className="chart-title">{title}</figcaption>
      <p id={captionId} className="sr-only">{text}</p>
      {items.length === 0 ? <p className="muted">{t('usage.empty')}</p> : (
        <>
          <ViewToggle table={table} onChange={setTable} />
          {table ? (
            <ChartTable caption={text}
              columns={[t('usage.col.name'), t('usage.col.requests'), t('usage.series.error_rate'), t('usage.series.rejected'), t('usage.series.p95')]}>
              {items.map((it) => (
                <tr key={it.keyId + it.route}>
                  <th scope="row">{by === 'route' && it.route ? <code dir="ltr">{it.route}</code> : <bdi>{nameOf(it)}</bdi>}</th>
                  <td className="num" data-col="total">{number(it.total ?? 0)}</td>
                  <td className="num">{percent(i18n, errorRate(it))}</td>
                  <td className="num">{number(it.rejected ?? 0)}</td>
                  <td className="num">{ms(i18n, it.p95Ms)}</td>
                </tr>
              ))}
            </ChartTable>
          ) : (
            <div className="chart-plot" role="img" aria-labelledby={captionId} style={{ blockSize: 40 + items.length * 28 }}>
              <BarChart responsive layout="vertical" data={data} style={{ inlineSize: '100%', blockSize: 40 + items.length * 28 }}
                margin={{ top: 4, right: 12, bottom: 4, left: 12 }}>
                <CartesianGrid stroke={gridStroke} horizontal={false} />
                <XAxis type="number" reversed={rtl} allowDecimals={false} {...axis} tickFormatter={(v: number) => number(v)} />
                <YAxis type="category" dataKey="name" orientation={rtl ? 'right' : 'left'} width={120} {...axis} />
                <Tooltip formatter={(v) => number(Number(v))} {...tooltip} />
                <Bar dataKey="total" name={t('usage.col.requests')} fill="var(--chart-ok)" isAnimationActive={false} />
              </BarChart>
            </div>
          )}
        </>
      )}
    </figure>
  )
}
