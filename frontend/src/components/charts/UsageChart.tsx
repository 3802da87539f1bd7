import { useId, useState } from 'react'
import { Bar, CartesianGrid, ComposedChart, Line, Tooltip, XAxis, YAxis } from 'recharts'
import type { Series } from '../../api/operations'
import { useI18n } from '../../i18n/i18n'
import { ChartTable, ViewToggle } from './ChartTable'
import { axis, gridStroke, tooltip } from './look'
import { errorRate, ms, percent, summary, tickFormat, when } from './usage'

/** What a UsageChart draws: answers by class with the p95 latency, or the error rate. */
export type UsageChartKind = 'traffic' | 'errorRate'

interface Props {
  series: Series
  kind?: UsageChartKind
  height?: number
  /** testId names the figure for the end-to-end tests. */
  testId?: string
}

/**
 * UsageChart draws a GetUsage series with Recharts: stacked bars of successful answers, client
 * and server errors per bucket with the p95 latency as a line, or the error rate. It is
 * accessible as the issue asks: the figure's text summary is its label (and visible caption),
 * and "Show as table" swaps the picture for a data table of every bucket. Colours come from
 * the theme's CSS variables; numbers and times from the language; in right-to-left languages
 * time runs from right to left.
 */
export function UsageChart({ series, kind = 'traffic', height = 220, testId }: Props) {
  const i18n = useI18n()
  const { t, lang, dir, number } = i18n
  const [table, setTable] = useState(false)
  const captionId = useId()
  const text = summary(i18n, series)
  const rtl = dir === 'rtl'
  const data = series.buckets.map((b) => ({
    t: new Date(b.start).getTime(),
    ok: b.ok ?? 0,
    clientErrors: b.clientErrors ?? 0,
    serverErrors: b.serverErrors ?? 0,
    p95: b.p95Ms,
    rate: b.total ? errorRate(b) : null,
  }))
  const tick = tickFormat(lang, series)
  const names: Record<string, string> = {
    ok: t('usage.series.ok'),
    clientErrors: t('usage.series.client_errors'),
    serverErrors: t('usage.series.server_errors'),
    p95: t('usage.series.p95'),
    rate: t('usage.series.error_rate'),
  }
  const format = (v: unknown, key: string) => {
    if (typeof v !== 'number') return '—'
    if (key === 'p95') return ms(i18n, v)
    if (key === 'rate') return percent(i18n, v)
    return number(v)
  }
  return (
    <figure className="chart" data-testid={testId} data-kind={kind}>
      <figcaption id={captionId} className="chart-summary">{text}</figcaption>
      <ViewToggle table={table} onChange={setTable} />
      {table ? (
        <ChartTable caption={text} columns={[t('usage.col.time'), t('usage.col.requests'), t('usage.series.ok'),
          t('usage.series.client_errors'), t('usage.series.server_errors'), t('usage.series.rejected'),
          t('usage.series.error_rate'), t('usage.series.p50'), t('usage.series.p95')]}>
          {series.buckets.map((b) => (
            <tr key={b.start} data-start={b.start}>
              <th scope="row"><time dateTime={b.start}>{when(lang, b.start)}</time></th>
              <td className="num" data-col="total">{number(b.total ?? 0)}</td>
              <td className="num" data-col="ok">{number(b.ok ?? 0)}</td>
              <td className="num" data-col="clientErrors">{number(b.clientErrors ?? 0)}</td>
              <td className="num" data-col="serverErrors">{number(b.serverErrors ?? 0)}</td>
              <td className="num" data-col="rejected">{number(b.rejected ?? 0)}</td>
              <td className="num" data-col="errorRate">{b.total ? percent(i18n, errorRate(b)) : '—'}</td>
              <td className="num" data-col="p50">{ms(i18n, b.p50Ms)}</td>
              <td className="num" data-col="p95">{ms(i18n, b.p95Ms)}</td>
            </tr>
          ))}
        </ChartTable>
      ) : (
        <div className="chart-plot" role="img" aria-labelledby={captionId} style={{ blockSize: height }}>
          <ComposedChart responsive data={data} style={{ inlineSize: '100%', blockSize: height }}
            margin={{ top: 8, right: 8, bottom: 0, left: 8 }} barCategoryGap={1}>
            <CartesianGrid stroke={gridStroke} vertical={false} />
            <XAxis dataKey="t" type="category" reversed={rtl} tickFormatter={tick} {...axis} minTickGap={24} />
            {kind === 'traffic' ? (
              <>
                <YAxis yAxisId="n" orientation={rtl ? 'right' : 'left'} allowDecimals={false} {...axis}
                  tickFormatter={(v: number) => number(v)} width={48} />
                <YAxis yAxisId="ms" orientation={rtl ? 'left' : 'right'} {...axis} tickFormatter={(v: number) => ms(i18n, v)} width={84} />
                <Bar yAxisId="n" dataKey="ok" name={names.ok} stackId="a" fill="var(--chart-ok)" isAnimationActive={false} />
                <Bar yAxisId="n" dataKey="clientErrors" name={names.clientErrors} stackId="a" fill="var(--chart-4xx)" isAnimationActive={false} />
                <Bar yAxisId="n" dataKey="serverErrors" name={names.serverErrors} stackId="a" fill="var(--chart-5xx)" isAnimationActive={false} />
                <Line yAxisId="ms" dataKey="p95" name={names.p95} type="monotone" stroke="var(--chart-latency)" strokeWidth={2}
                  dot={{ r: 2.5, fill: 'var(--chart-latency)', strokeWidth: 0 }} isAnimationActive={false} />
              </>
            ) : (
              <>
                <YAxis yAxisId="rate" orientation={rtl ? 'right' : 'left'} domain={[0, 1]} {...axis}
                  tickFormatter={(v: number) => percent(i18n, v)} width={48} />
                <Line yAxisId="rate" dataKey="rate" name={names.rate} type="monotone" stroke="var(--chart-5xx)" strokeWidth={2}
                  dot={{ r: 2.5, fill: 'var(--chart-5xx)', strokeWidth: 0 }} isAnimationActive={false} />
              </>
            )}
            <Tooltip
              labelFormatter={(v) => when(lang, Number(v))}
              formatter={(v, _name, item) => format(v, String(item.dataKey))}
              {...tooltip}
              labelStyle={{ color: 'var(--text)' }}
            />
          </ComposedChart>
        </div>
      )}
      {table ? null : (
        <ul className="chart-legend" aria-hidden="true">
          {(kind === 'traffic' ? ['ok', 'clientErrors', 'serverErrors', 'p95'] : ['rate']).map((k) => (
            <li key={k}><span className={`swatch swatch-${k}`} />{names[k]}</li>
          ))}
        </ul>
      )}
    </figure>
  )
}
