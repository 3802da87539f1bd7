import { describe, expect, it, vi } from 'vitest'
import { scalarConfig, scalarLocale, viewerFetch } from './config'

const base = { document: { openapi: '3.0.3' }, lang: 'en', dir: 'ltr' as const, theme: 'dark' as const, gatewayUrl: '' }

describe('scalarConfig', () => {
  it('keeps Scalar offline and private', () => {
    const c = scalarConfig({ ...base, api: 'console', apiKey: '' })
    expect(c.withDefaultFonts).toBe(false)
    expect(c.telemetry).toBe(false)
    expect(c.persistAuth).toBe(false)
    expect(c).not.toHaveProperty('proxyUrl')
    expect(c).not.toHaveProperty('proxy')
    expect(c.agent).toEqual({ disabled: true })
    expect(c.mcp).toEqual({ disabled: true })
    expect(JSON.stringify(c)).not.toMatch(/scalar\.com/)
  })

  it('prefills the gateway key and points try-it at the gateway', () => {
    const c = scalarConfig({ ...base, api: 'gateway', apiKey: 'kg_abc', gatewayUrl: 'http://127.0.0.1:9999' })
    expect(c.authentication).toEqual({ preferredSecurityScheme: 'ApiKeyHeader', securitySchemes: { ApiKeyHeader: { value: 'kg_abc' } } })
    expect(c.servers).toEqual([{ url: 'http://127.0.0.1:9999', description: 'Keygate gateway' }])
  })

  it('uses the session without a key', () => {
    const c = scalarConfig({ ...base, api: 'gateway', apiKey: '' })
    expect(c.authentication).toEqual({ preferredSecurityScheme: 'SessionCookie', securitySchemes: {} })
  })

  it('follows the console language where Scalar has it', () => {
    expect(scalarLocale('de')).toBe('de')
    expect(scalarLocale('pt-BR')).toBe('pt')
    expect(scalarLocale('zh-Hans')).toBe('zh-CN')
    expect(scalarLocale('ar')).toBe('ar')
    expect(scalarLocale('ja')).toBe('ja')
    expect(scalarLocale('he')).toBe('he')
    expect(scalarLocale('ko')).toBe('ko')
    expect(scalarLocale('it')).toBe('en')
    const c = scalarConfig({ ...base, api: 'console', apiKey: '', lang: 'he', dir: 'rtl' })
    expect(c.localization).toMatchObject({ locale: 'he', direction: 'rtl' })
  })
})

describe('viewerFetch', () => {
  it('sends the session cookie to the gateway only without a key', async () => {
    const calls: RequestInit[] = []
    const spy = vi.fn(async (_: RequestInfo | URL, init?: RequestInit) => { calls.push(init ?? {}); return new Response('') })
    await viewerFetch({ api: 'gateway', apiKey: '' }, spy as typeof fetch)('http://127.0.0.1:8787/x')
    await viewerFetch({ api: 'gateway', apiKey: 'kg_x' }, spy as typeof fetch)('http://127.0.0.1:8787/x')
    await viewerFetch({ api: 'console', apiKey: '' }, spy as typeof fetch)('http://127.0.0.1:8788/api/v1/me')
    expect(calls.map((c) => c.credentials)).toEqual(['include', 'same-origin', 'same-origin'])
    expect(globalThis.fetch).not.toBe(spy)
  })
})
