/**
 * The Networks page: allowed networks (CIDR → email server) with add and
 * remove, the rules from RELAY365_RELAY_NETWORKS beside them, and the SMTP
 * listener's addresses and certificate. Changes need `Settings: Update Settings`;
 * a network wider than a /8 (IPv4) or /32 (IPv6) needs a Super Admin who ticks
 * the box that forces it.
 */
import { Hono, type Context } from 'hono';
import { parseCidr } from '../../cidr.js';
import type { Config } from '../../config.js';
import type { Logger } from '../../log.js';
import { deviceSettings, type DeviceListen } from '../../relay/device-settings.js';
import { tooWideToAllow, wideNetworkWarning } from '../../store/access-schemas.js';
import type { StoreSlice } from '../../store/index.js';
import { unlessTaken } from '../../store/unique-violation.js';
import type { AdminEnv, AdminRelay } from '../env.js';
import { setFlash } from '../flash.js';
import { formText } from '../form-text.js';
import { requirePermission } from '../middleware/require-permission.js';
import { can } from '../permissions.js';
import { NetworksPage, type NetworkForm } from '../views/networks.js';
import { cidrField, parseNetworkRule } from './relay-access-forms.js';

export interface NetworkRouteOptions {
  config: Pick<Config, 'relayNetworks'> & DeviceListen;
  store: StoreSlice<{
    networks: 'add' | 'findByCidr' | 'list' | 'remove';
    servers: 'get' | 'getDefault' | 'list';
    sessions: 'setFlash';
  }>;
  relay: AdminRelay;
  log: Logger;
}

const ENV = 'RELAY365_RELAY_NETWORKS';

/** Routes under /networks. */
export function networkRoutes({ config, store, relay, log }: NetworkRouteOptions): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  const edit = requirePermission('updateSettings');
  const environment = config.relayNetworks.map((c) => c.text);
  const environmentWarnings = config.relayNetworks.flatMap((cidr) => {
    const warning = wideNetworkWarning(cidr);
    return warning === null ? [] : [`${warning} (from ${ENV}: change the variable and restart).`];
  });

  const page = async (c: Context<AdminEnv>, form: NetworkForm, status: 200 | 422 = 200) => {
    const servers = await store.servers.list();
    const names = new Map(servers.map((s) => [s.id, s.name]));
    const rows = (await store.networks.list()).map((rule) => ({ rule, serverName: names.get(rule.serverId) ?? '(deleted server)' }));
    const storedWarnings = rows.flatMap(({ rule }) => {
      const cidr = parseCidr(rule.cidr);
      const warning = typeof cidr === 'string' ? null : wideNetworkWarning(cidr);
      return warning === null ? [] : [`${warning}.`];
    });
    const defaultServer = await store.servers.getDefault();
    return c.render(
      <NetworksPage
        rows={rows}
        environment={environment}
        defaultServer={defaultServer}
        servers={servers}
        listener={relay.listenerInfo()}
        device={deviceSettings({ listen: config, bound: relay.listenerInfo(), login: null })}
        canEdit={can(c.var.user, 'updateSettings')}
        csrf={c.var.csrfToken}
        form={form}
        wideWarnings={[...storedWarnings, ...environmentWarnings]}
      />,
      { title: 'Networks', status },
    );
  };

  app.get('/', async (c) => page(c, { values: { cidr: '', serverId: String((await store.servers.getDefault())?.id ?? '') }, errors: {} }));

  app.post('/', edit, async (c) => {
    const body = await c.req.parseBody();
    const { input, form } = parseNetworkRule(body, await store.servers.list());
    if (!input) return page(c, form, 422);
    const tooWide = tooWideToAllow(input.cidr);
    const superAdmin = can(c.var.user, 'superAdmin');
    if (tooWide !== null && !(superAdmin && formText(body, 'force') === '1')) {
      const how = superAdmin
        ? 'Tick "Allow this network anyway" and add it again if you mean it.'
        : 'Only a Super Admin can allow a network this wide.';
      return page(c, { ...form, errors: { cidr: `${tooWide}. ${how}` }, offerForce: superAdmin }, 422);
    }
    const existing = await store.networks.findByCidr(input.cidr);
    const rule = existing ? null : await unlessTaken(store.networks.add(input.cidr, input.server.id));
    if (!rule) {
      // Stored before the look-up, or by another request between the look-up and the insert.
      const stored = existing ?? (await store.networks.findByCidr(input.cidr));
      const owner = (stored && (await store.servers.get(stored.serverId))?.name) ?? '(deleted server)';
      const message = `${input.cidr.text} is in the list already, routed to ${owner}. Remove it first to route it elsewhere.`;
      return page(c, { ...form, errors: { cidr: message } }, 422);
    }
    const wide = wideNetworkWarning(input.cidr);
    const fields = { cidr: input.cidr.text, server: input.server.name, by: c.var.user?.email };
    if (wide === null) log.info('allowed network added', fields);
    else log.warn('wide allowed network added', { ...fields, warning: wide, forced: tooWide !== null });
    // The relay prefers a stored rule over the environment's for the same network.
    const note = environment.includes(input.cidr.text) ? ` It takes precedence over the same network in ${ENV}.` : '';
    await setFlash(c, store, { kind: 'success', message: `Added ${input.cidr.text}, routed to ${input.server.name}.${note}` });
    return c.redirect('/networks', 303);
  });

  app.post('/remove', edit, async (c) => {
    const cidr = cidrField(await c.req.parseBody());
    if (cidr && (await store.networks.remove(cidr))) {
      log.info('allowed network removed', { cidr: cidr.text, by: c.var.user?.email });
      const note = environment.includes(cidr.text) ? ` ${ENV} still allows it, routed to the default server.` : '';
      await setFlash(c, store, { kind: 'success', message: `Removed ${cidr.text}.${note}` });
    } else {
      await setFlash(c, store, { kind: 'error', message: 'That network is not in the stored list (it may have been removed already).' });
    }
    return c.redirect('/networks', 303);
  });

  return app;
}
