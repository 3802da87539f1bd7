import { describe, expect, it } from 'vitest'
import { csvCell, exportName, toCSV, toNDJSON, type Column } from './export'

type Row = { a: string; n: number; h?: Record<string, string[]> }
const cols: Column<Row>[] = [
  { name: 'a', value: (r) => r.a },
  { name: 'n', value: (r) => r.n },
  { name: 'h', value: (r) => r.h },
]

/** parseCSV is a strict RFC 4180 reader, to check what toCSV writes. */
function parseCSV(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++ } else if (c === '"') quoted = false
      else cell += c
    } else if (c === '"') quoted = true
    else if (c === ',') { row.push(cell); cell = '' }
    else if (c === '\r' && text[i + 1] === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; i++ }
    else cell += c
  }
  return rows
}

describe('exports', () => {
  it('writes CSV that parses back to the same cells, quoting what needs it', () => {
    const rows: Row[] = [
      { a: 'plain', n: 1 },
      { a: 'comma, "quote"\nnewline', n: 2.5, h: { Accept: ['*/*'], 'X-Api-Key': ['[redacted]'] } },
    ]
    const parsed = parseCSV(toCSV(rows, cols))
    expect(parsed).toEqual([
      ['a', 'n', 'h'],
      ['plain', '1', ''],
      ['comma, "quote"\nnewline', '2.5', '{"Accept":["*/*"],"X-Api-Key":["[redacted]"]}'],
    ])
  })
  it('defuses cells a spreadsheet would run as formulas', () => {
    for (const s of ['=1+1', '+cmd', '-2', '@SUM(A1)', '\tx']) expect(csvCell(s).replace(/^"|"$/g, '')).toMatch(/^'/)
    expect(csvCell(-2)).toBe('-2') // numbers stay numbers
    expect(csvCell('/path')).toBe('/path')
  })
  it('writes one JSON object a line with every column', () => {
    const text = toNDJSON([{ a: 'x', n: 1 }, { a: 'y\n', n: 2 }], cols)
    const lines = text.trimEnd().split('\n')
    expect(lines).toHaveLength(2)
    expect(lines.map((l) => JSON.parse(l))).toEqual([{ a: 'x', n: 1, h: null }, { a: 'y\n', n: 2, h: null }])
    expect(toNDJSON([], cols)).toBe('')
  })
  it('names files by what and when', () => {
    expect(exportName('requests', 'csv', new Date(2026, 0, 30, 15, 4, 5))).toBe('keygate-requests-20260130-150405.csv')
  })
})
