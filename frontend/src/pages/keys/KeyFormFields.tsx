import { useId, useState, type KeyboardEvent } from 'react'
import { Button } from '../../components/Button'
import { Icon } from '../../components/Icon'
import { useT } from '../../i18n/i18n'
import { maxMetadata, maxScopes, validScope, type MetaPair } from './keyForm'

// scopeExample is a technical example, the same in every language.
const scopeExample = 'orders:read'

interface ScopesProps {
  scopes: string[]
  onChange: (s: string[]) => void
  /** offered are the scopes the routes' documents declare; undefined while they load. */
  offered?: string[]
  /** routesOf names, for each offered scope, the routes that require it. */
  routesOf?: Record<string, string[]>
  error?: string
}

/** ScopesInput edits a key's scopes: chips with a remove button, a field to type one, and the
 * scopes the routes require offered as one-click additions. */
export function ScopesInput({ scopes, onChange, offered, routesOf, error }: ScopesProps) {
  const t = useT()
  const id = useId()
  const [draft, setDraft] = useState('')
  const [draftError, setDraftError] = useState('')
  const add = (raw: string) => {
    const s = raw.trim()
    if (!s) return
    if (!validScope(s)) {
      setDraftError(t('keys.form.scopes.invalid', { Scope: s }))
      return
    }
    setDraftError('')
    setDraft('')
    if (!scopes.includes(s) && scopes.length < maxScopes) onChange([...scopes, s].sort())
  }
  const onKey = (e: KeyboardEvent<HTMLInputElement>) => {
    // Enter adds the scope instead of submitting the dialog's form.
    if (e.key === 'Enter' || e.key === ',') {
      e.preventDefault()
      add(draft)
    }
  }
  const shown = draftError || error
  const left = (offered ?? []).filter((s) => !scopes.includes(s))
  return (
    <div className={`field${shown ? ' has-error' : ''}`} role="group" aria-labelledby={`${id}-label`}>
      <span id={`${id}-label`} className="field-label">{t('keys.field.scopes')}</span>
      {scopes.length ? (
        <ul className="chips" aria-label={t('keys.field.scopes')}>
          {scopes.map((s) => (
            <li key={s} className="chip">
              <span dir="ltr">{s}</span>
              <button type="button" className="chip-remove" onClick={() => onChange(scopes.filter((x) => x !== s))} aria-label={t('keys.form.scopes.remove', { Scope: s })}>
                <Icon name="x" size={12} />
              </button>
            </li>
          ))}
        </ul>
      ) : null}
      <div className="input-row">
        <input
          id={`${id}-input`}
          className="input input-mono"
          dir="ltr"
          value={draft}
          onChange={(e) => { setDraft(e.target.value); setDraftError('') }}
          onKeyDown={onKey}
          placeholder={scopeExample}
          aria-label={t('keys.form.scopes.input')}
          aria-invalid={shown ? true : undefined}
          aria-describedby={`${id}-hint${shown ? ` ${id}-err` : ''}`}
          autoComplete="off"
          spellCheck={false}
        />
        <Button onClick={() => add(draft)} disabled={!draft.trim()}>{t('keys.form.scopes.add')}</Button>
      </div>
      <p id={`${id}-hint`} className="field-hint">{t('keys.form.scopes.hint')}</p>
      {shown ? <p id={`${id}-err`} className="field-error">{shown}</p> : null}
      {offered === undefined ? null : (
        <div className="offered">
          <span className="offered-label">{t('keys.form.scopes.offered')}</span>
          {left.length ? (
            <ul className="chips">
              {left.map((s) => (
                <li key={s}>
                  <button type="button" className="chip chip-offer" onClick={() => add(s)} aria-label={t('keys.form.scopes.add_one', { Scope: s })} title={routesOf?.[s]?.length ? t('keys.form.scopes.routes', { Routes: routesOf[s].join(', ') }) : undefined}>
                    <Icon name="plus" size={12} />
                    <span dir="ltr">{s}</span>
                  </button>
                </li>
              ))}
            </ul>
          ) : offered.length === 0 ? <span className="muted small">{t('keys.form.scopes.offered_none')}</span> : null}
        </div>
      )}
    </div>
  )
}

interface MetaProps {
  rows: MetaPair[]
  onChange: (rows: MetaPair[]) => void
  /** errors holds one message per row ("" for a good row). */
  errors: string[]
  error?: string
  /** labelledBy is the id of the heading that names the pairs. */
  labelledBy: string
}

/** MetadataInput edits up to 16 name–value pairs. */
export function MetadataInput({ rows, onChange, errors, error, labelledBy }: MetaProps) {
  const t = useT()
  const id = useId()
  const set = (i: number, p: Partial<MetaPair>) => onChange(rows.map((r, j) => (j === i ? { ...r, ...p } : r)))
  const full = rows.length >= maxMetadata
  return (
    <div className={`field${error ? ' has-error' : ''}`} role="group" aria-labelledby={labelledBy} aria-describedby={`${id}-hint`}>
      {rows.length ? (
        <div className="meta-rows">
          {rows.map((r, i) => (
            <div key={i} className="meta-row">
              <input
                className="input input-mono"
                dir="ltr"
                value={r.name}
                onChange={(e) => set(i, { name: e.target.value })}
                aria-label={t('keys.form.meta.name_n', { Number: i + 1 })}
                placeholder={t('keys.metadata.name')}
                aria-invalid={errors[i] ? true : undefined}
                maxLength={40}
                autoComplete="off"
                spellCheck={false}
              />
              <input
                className="input"
                value={r.value}
                onChange={(e) => set(i, { value: e.target.value })}
                aria-label={t('keys.form.meta.value_n', { Number: i + 1 })}
                placeholder={t('keys.metadata.value')}
                maxLength={256}
                autoComplete="off"
              />
              <button type="button" className="icon-btn icon-btn-danger" onClick={() => onChange(rows.filter((_, j) => j !== i))} aria-label={t('keys.form.meta.remove', { Number: i + 1 })} title={t('keys.form.meta.remove', { Number: i + 1 })}>
                <Icon name="trash" />
              </button>
              {errors[i] ? <p className="field-error meta-error">{errors[i]}</p> : null}
            </div>
          ))}
        </div>
      ) : null}
      <div>
        <Button size="sm" icon="plus" onClick={() => onChange([...rows, { name: '', value: '' }])} disabled={full}>{t('keys.form.meta.add')}</Button>
      </div>
      <p id={`${id}-hint`} className="field-hint">{full ? t('keys.form.meta.full') : t('keys.form.meta.hint')}</p>
      {error ? <p className="field-error">{error}</p> : null}
    </div>
  )
}
