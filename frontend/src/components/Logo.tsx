/** Logo is Keygate's mark and name; the product name is not translated. */
export function Logo({ compact }: { compact?: boolean }) {
  return (
    <span className="logo">
      <svg width="24" height="24" viewBox="0 0 32 32" aria-hidden="true" focusable="false">
        <rect width="32" height="32" rx="8" fill="var(--accent)" />
        <circle cx="12.5" cy="16" r="4.5" fill="none" stroke="var(--accent-contrast)" strokeWidth="2.4" />
        <path d="M17 16h9M22.5 16v3.5M25.5 16v2.5" stroke="var(--accent-contrast)" strokeWidth="2.4" strokeLinecap="round" />
      </svg>
      {/* eslint-disable-next-line no-restricted-syntax -- the product name is the same in every language */}
      {compact ? null : <span className="logo-name">{'Keygate'}</span>}
    </span>
  )
}
