/**
 * The one page frame: navigation, the signed-in user with Sign out, the
 * client secret or certificate expiry banner, the flash message, then the page.
 */
import type { Child } from 'hono/jsx';
import { CREDENTIAL_NAMES } from '../../auth/secret-expiry.js';
import type { User } from '../../store/users.js';
import type { Flash } from '../flash.js';
import { can } from '../permissions.js';
import { describeExpiry, RENEWAL, type SecretWarning } from '../secret-expiry.js';
import { CsrfField, FlashMessage } from './components.js';

export interface LayoutProps {
  title: string;
  user: User | null;
  csrfToken: string;
  flash: Flash | null;
  warnings: SecretWarning[];
  children: Child;
}

export function Layout({ title, user, csrfToken, flash, warnings, children }: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · relay365`}</title>
        <link rel="icon" href="/assets/favicon.svg" type="image/svg+xml" />
        <link rel="stylesheet" href="/assets/style.css" />
        <script src="/assets/app.js" defer></script>
      </head>
      <body>
        <header class="top">
          <a class="brand" href="/">
            relay365
          </a>
          {user ? (
            <nav aria-label="Main">
              <a href="/">Dashboard</a>
              <a href="/servers">Email servers</a>
              <a href="/log">Relay log</a>
              <a href="/refused">Refused</a>
              <a href="/relay-users">Relay users</a>
              <a href="/networks">Networks</a>
              <a href="/alerts">Alerts</a>
              <a href="/cluster">Cluster</a>
              {can(user, 'superAdmin') ? <a href="/users">Users</a> : null}
              {can(user, 'superAdmin') ? <a href="/api-tokens">API tokens</a> : null}
              <a class="who" href="/account" title="Your account and password">
                {user.email}
              </a>
              <form method="post" action="/logout" class="inline">
                <CsrfField token={csrfToken} />
                <button type="submit" class="link">
                  Sign out
                </button>
              </form>
            </nav>
          ) : null}
        </header>
        {warnings.length > 0 ? (
          <div class="banner" role="alert">
            {warnings.map((w) => (
              <p>
                The {CREDENTIAL_NAMES[w.credential]} of <a href={`/servers/${w.serverId}`}>{w.serverName}</a> {describeExpiry(w)} (
                {w.expires}). {RENEWAL[w.credential]}
              </p>
            ))}
          </div>
        ) : null}
        <main>
          <h1>{title}</h1>
          {flash ? <FlashMessage flash={flash} /> : null}
          {children}
        </main>
      </body>
    </html>
  );
}
