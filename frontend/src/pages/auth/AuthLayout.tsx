import type { ReactNode } from 'react'
import { Logo } from '../../components/Logo'

export function AuthLayout({ title, description, children }: { title: ReactNode; description?: ReactNode; children: ReactNode }) {
  return (
    <main className="auth">
      <div className="auth-card">
        <Logo />
        <h1 className="auth-title">{title}</h1>
        {description ? <p className="auth-description">{description}</p> : null}
        {children}
      </div>
    </main>
  )
}
