/**
 * Renders one email server's page; shared by the page itself, the test
 * send and Check Configuration, which answer with the same page plus their result.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ServerDiagnosis } from '../../doctor/report.js';
import type { StoreSlice } from '../../store/index.js';
import type { EmailServer } from '../../store/servers.js';
import { missingForAuthorize, redirectUriFor } from '../authorize-flow.js';
import type { AdminEnv } from '../env.js';
import { can } from '../permissions.js';
import { secretWarning } from '../secret-expiry.js';
import { ServerPage, type TestForm } from '../views/server-page.js';
import { ErrorPage } from '../views/error-page.js';

export interface ServerViewOptions {
  store: StoreSlice<{ servers: 'get'; queue: 'countsByStatus' }>;
  publicUrl: string;
  now: () => number;
}

/** The default test form: to the mailbox (or the admin), a recognisable subject. */
export function defaultTestForm(server: EmailServer, userEmail: string): TestForm {
  return {
    values: {
      to: server.mailbox ?? userEmail,
      subject: `relay365 test email via ${server.name}`,
      body: 'This is a test email sent from the relay365 admin panel.',
    },
    errors: {},
    result: null,
  };
}

/** Answers with the server page. */
export async function renderServerPage(
  c: Context<AdminEnv>,
  { store, publicUrl, now }: ServerViewOptions,
  server: EmailServer,
  test?: TestForm,
  status: ContentfulStatusCode = 200,
  diagnosis: ServerDiagnosis | null = null,
) {
  const user = c.var.user;
  const counts = await store.queue.countsByStatus(server.id);
  return c.render(
    <ServerPage
      server={server}
      redirectUri={redirectUriFor(publicUrl)}
      canEdit={can(user, 'updateSettings')}
      csrf={c.var.csrfToken}
      counts={counts}
      warning={secretWarning(server, now())}
      missingForAuthorize={missingForAuthorize(server)}
      test={test ?? defaultTestForm(server, user?.email ?? '')}
      diagnosis={diagnosis}
    />,
    { title: server.name, status },
  );
}

/** 404 for an email server that does not exist (any more). */
export function serverNotFound(c: Context<AdminEnv>) {
  return c.render(
    <ErrorPage title="Not found" message="There is no such email server." back={{ href: '/servers', label: 'Email servers' }} />,
    {
      title: 'Not found',
      status: 404,
    },
  );
}

/** Looks up `:id` of the route. */
export async function serverParam(c: Context<AdminEnv>, store: StoreSlice<{ servers: 'get' }>): Promise<EmailServer | undefined> {
  const id = Number(c.req.param('id'));
  return Number.isSafeInteger(id) ? store.servers.get(id) : undefined;
}
