/**
 * Requests from a chosen client address. Under `app.request()` there is no
 * socket, so the address rides in the Node bindings the server would pass.
 */
import type { HttpBindings } from '@hono/node-server';
import type { Hono } from 'hono';
import type { AdminEnv } from '../../src/admin/env.js';
import type { Agent } from './panel.js';

/** Bindings whose socket peer is `remoteAddress`. */
export function peer(remoteAddress: string): Partial<HttpBindings> {
  // Only `incoming.socket.remoteAddress` is read: a whole IncomingMessage is not needed.
  return { incoming: { socket: { remoteAddress } } } as unknown as Partial<HttpBindings>;
}

export interface Answer {
  status: number;
  text: string;
}

/** Posts a form with the agent's cookies and CSRF token as a client at `remoteAddress`. */
export async function postFrom(
  app: Hono<AdminEnv>,
  agent: Agent,
  remoteAddress: string,
  path: string,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await app.request(
    path,
    {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        cookie: [...agent.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        ...headers,
      },
      body: new URLSearchParams({ _csrf: agent.csrf, ...fields }).toString(),
    },
    peer(remoteAddress),
  );
  return { status: res.status, text: await res.text() };
}
