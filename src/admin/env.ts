/**
 * The admin panel's one Hono environment and its dependencies: what every
 * route may read from the context, and the relay operations the panel calls.
 */
import type { HttpBindings } from '@hono/node-server';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Alerts } from '../alerts/engine.js';
import type { AuthCodeClient } from '../auth/authorize.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Operations } from '../ops/index.js';
import type { Relay } from '../relay/index.js';
import type { Store } from '../store/index.js';
import type { EmailServer } from '../store/servers.js';
import type { Session } from '../store/sessions.js';
import type { User } from '../store/users.js';

export type { ListenerInfo, TestSendResult } from '../relay/index.js';

/**
 * The relay operations the panel uses: test sends, retry and delete of waiting mail, settings saved,
 * and what the SMTP listener is listening on.
 */
export type AdminRelay = Pick<Relay, 'sendTest' | 'retryNow' | 'deleteMessage' | 'settingsChanged' | 'listenerInfo'>;

export interface AdminDeps {
  config: Config;
  store: Store;
  relay: AdminRelay;
  log: Logger;
  now?: () => number;
  /** The MSAL client for Authorize Account; default `createMsalClient` with the server's sealed cache. */
  authCodeClient?: (server: EmailServer, clientSecret: string) => AuthCodeClient;
  /** The alerts engine: active alerts and Send test alert (without it the Alerts page only edits settings). */
  alerts?: Pick<Alerts, 'active' | 'evaluateNow' | 'sendTest'>;
  /** Readiness checks and metrics for /readyz and /metrics (without them only /healthz answers). */
  ops?: Operations;
}

export interface AdminEnv {
  /** Node's request and response (absent under `app.request()` in tests). */
  Bindings: Partial<HttpBindings>;
  Variables: {
    /** The signed-in user, or null. */
    user: User | null;
    session: Session | null;
    /** The token forms of this browser must carry in `_csrf`. */
    csrfToken: string;
  };
}

/** Props of the one Layout, given to `c.render(content, props)`. */
export interface PageProps {
  title: string;
  status?: ContentfulStatusCode;
}

declare module 'hono' {
  interface ContextRenderer {
    (content: string | Promise<string>, props: PageProps): Response | Promise<Response>;
  }
}
