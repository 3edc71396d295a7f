/**
 * The edit form behind each setting's edit icon: GET shows it, POST validates
 * and saves (messages next to the field on failure; secrets never echoed).
 * Changing the app, the cloud or the way to send ends the authorization: its
 * tokens belong to the old one, and the saved message says what to do next.
 */
import { Hono, type Context } from 'hono';
import type { Logger } from '../../log.js';
import type { StoreSlice } from '../../store/index.js';
import type { FieldErrors } from '../../store/server-validation.js';
import type { EmailServer } from '../../store/servers.js';
import { unlessTaken } from '../../store/unique-violation.js';
import type { AdminEnv, AdminRelay } from '../env.js';
import { setFlash } from '../flash.js';
import { requirePermission } from '../middleware/require-permission.js';
import { fieldBySlug, inputValue, type FieldSpec } from '../server-fields.js';
import { parseFieldForm, SERVER_NAME_TAKEN, withUpload, type FormValues } from '../server-forms.js';
import { FieldForm } from '../views/field-form.js';
import { serverNotFound, serverParam } from './server-view.js';

export interface SettingsRouteOptions {
  store: StoreSlice<{ servers: 'findByName' | 'get' | 'update'; sessions: 'setFlash' }>;
  relay: AdminRelay;
  log: Logger;
}

const SENT_THROUGH = { smtp: 'Exchange SMTP', graph: 'Microsoft Graph' } as const;

/** What a change of Office 365 Send Via means for the server's tokens; empty for any other change. */
function sendViaNote(before: EmailServer, after: EmailServer): string {
  if (after.method !== 'office365' || before.sendVia === after.sendVia) return '';
  if (after.signInMode === 'authorize') {
    return ` The account's authorization was for ${SENT_THROUGH[before.sendVia]} and does not serve ${SENT_THROUGH[after.sendVia]}: click Authorize Account and sign in again.`;
  }
  const needs =
    after.sendVia === 'graph' ? "Microsoft Graph's Mail.Send (and Mail.ReadWrite for messages over 3 MB)" : "Exchange's SMTP.SendAsApp";
  return ` relay365 now asks for ${SENT_THROUGH[after.sendVia]} tokens; the app needs ${needs}: Check Configuration shows whether it has it.`;
}

/** Routes /servers/:id/edit/:field. */
export function serverSettingsRoutes({ store, relay, log }: SettingsRouteOptions): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  // Per route, not app.use('*'): mounted under /servers, that would cover the other /servers pages too.
  const edit = requirePermission('updateSettings');

  const lookup = async (c: Context<AdminEnv>): Promise<{ server: EmailServer; spec: FieldSpec } | null> => {
    const server = await serverParam(c, store);
    const spec = fieldBySlug(c.req.param('field') ?? '');
    return server && spec && spec.shows(server) ? { server, spec } : null;
  };
  const form = (
    c: Context<AdminEnv>,
    server: EmailServer,
    spec: FieldSpec,
    values: FormValues,
    errors: FieldErrors,
    status: 200 | 422 = 200,
  ) =>
    c.render(<FieldForm server={server} spec={spec} csrf={c.var.csrfToken} values={values} errors={errors} />, {
      title: `${spec.label} · ${server.name}`,
      status,
    });

  app.get('/:id{[0-9]+}/edit/:field', edit, async (c) => {
    const found = await lookup(c);
    if (!found) return serverNotFound(c);
    const { server, spec } = found;
    const values: FormValues = {
      [spec.key]: inputValue(server, spec.key),
      authorityHost: inputValue(server, 'authorityHost'),
      smtpResource: inputValue(server, 'smtpResource'),
      graphEndpoint: inputValue(server, 'graphEndpoint'),
    };
    return form(c, server, spec, values, {});
  });

  app.post('/:id{[0-9]+}/edit/:field', edit, async (c) => {
    const found = await lookup(c);
    if (!found) return serverNotFound(c);
    const { server, spec } = found;
    const { changes, errors, values } = parseFieldForm(spec, await withUpload(spec, await c.req.parseBody()));
    if (changes.name && changes.name.toLowerCase() !== server.name.toLowerCase() && (await store.servers.findByName(changes.name))) {
      errors.name = SERVER_NAME_TAKEN;
    }
    if (Object.keys(errors).length > 0) return form(c, server, spec, values, errors, 422);

    // Changing the app, tenant, cloud, sign-in mode or way to send clears the tokens (the store does it on every path).
    const saved = await unlessTaken(store.servers.update(server.id, changes));
    if (!saved) return form(c, server, spec, values, { name: SERVER_NAME_TAKEN }, 422);
    relay.settingsChanged();
    log.info('email server setting changed', { server: server.name, setting: spec.label, by: c.var.user?.email });
    await setFlash(c, store, { kind: 'success', message: `Saved ${spec.label}.${sendViaNote(server, saved)}` });
    return c.redirect(`/servers/${server.id}`, 303);
  });

  return app;
}
