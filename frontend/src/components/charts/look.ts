// The look every chart shares, drawn from the theme's CSS variables (styles.css): axes, grid
// and tooltip are set here once, so that the traffic, error-rate and busiest charts match.

/** axisTick is the text of an axis's ticks. */
export const axisTick = { fill: 'var(--text-2)', fontSize: 12 }

/** axis is what every XAxis and YAxis shares: its tick text and line colour. */
export const axis = { tick: axisTick, stroke: 'var(--border-strong)' }

/** gridStroke colours a chart's CartesianGrid. */
export const gridStroke = 'var(--border)'

/** tooltip is what every Tooltip shares: a themed box and a hover band over the bar or bucket. */
export const tooltip = {
  contentStyle: { background: 'var(--surface)', border: '1px solid var(--border)', borderRadius: 8, color: 'var(--text)' },
  cursor: { fill: 'var(--surface-hover)' },
}
