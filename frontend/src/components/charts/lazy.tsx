import { lazy, Suspense, type ComponentProps } from 'react'
import { Loading } from '../States'

// Recharts is most of what the charts weigh (docs/performance.md, "Console bundle"): the charts
// load on first use, so screens without one — and the first screen — do not download it.
const LazyUsageChart = lazy(() => import('./UsageChart').then((m) => ({ default: m.UsageChart })))
const LazyTopChart = lazy(() => import('./TopChart').then((m) => ({ default: m.TopChart })))

/** ChartLoading holds a chart's place while its code loads, and says so to assistive technology. */
function ChartLoading({ height }: { height: number }) {
  return <div className="chart-loading" style={{ minBlockSize: height }}><Loading rows={3} /></div>
}

/** UsageChart is charts/UsageChart, loaded on first use. */
export function UsageChart(props: ComponentProps<typeof LazyUsageChart>) {
  return <Suspense fallback={<ChartLoading height={(props.height ?? 220) + 60} />}><LazyUsageChart {...props} /></Suspense>
}

/** TopChart is charts/TopChart, loaded on first use. */
export function TopChart(props: ComponentProps<typeof LazyTopChart>) {
  return <Suspense fallback={<ChartLoading height={200} />}><LazyTopChart {...props} /></Suspense>
}
