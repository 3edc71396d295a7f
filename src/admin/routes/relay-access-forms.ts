/**
 * Reading the relay access forms (relay user, network rule) with the store's
 * schemas, so the panel accepts and refuses exactly what the CLI does, in the
 * same words. Each parser returns the values as typed plus one message per
 * field that did not validate.
 */
import type { z } from 'zod';
import type { Cidr } from '../../cidr.js';
import { allowFromList, cidr, firstIssue, relayPassword, relayUserName } from '../../store/access-schemas.js';
import type { EmailServer } from '../../store/servers.js';
import { formText } from '../form-text.js';
import type { NetworkForm } from '../views/networks.js';
import type { RelayUserSettingsForm } from '../views/relay-user-page.js';
import type { NewRelayUserForm } from '../views/relay-users.js';

type Body = Record<string, unknown>;
type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

function check<S extends z.ZodType>(schema: S, input: string): Checked<z.output<S>> {
  const result = schema.safeParse(input);
  return result.success ? { ok: true, value: result.data } : { ok: false, error: firstIssue(result.error) };
}

function checkServer(servers: readonly EmailServer[], id: string): Checked<EmailServer> {
  const server = servers.find((s) => String(s.id) === id);
  return server ? { ok: true, value: server } : { ok: false, error: 'Choose one of the email servers.' };
}

const errorOf = <T>(checked: Checked<T>): string | undefined => (checked.ok ? undefined : checked.error);

/** A valid new relay user; `password` is null when the admin left it empty (one is generated). */
export interface NewRelayUserInput {
  name: string;
  server: EmailServer;
  password: string | null;
  allowFrom: string[];
}

/** The add form: the input when every field is valid, else null with the messages in `form`. */
export function parseNewRelayUser(
  body: Body,
  servers: readonly EmailServer[],
): { input: NewRelayUserInput | null; form: NewRelayUserForm } {
  // Passwords are taken as typed: a space at either end is part of it.
  const typedPassword = typeof body['password'] === 'string' ? body['password'] : '';
  const values = { name: formText(body, 'name'), serverId: formText(body, 'serverId'), allowFrom: formText(body, 'allowFrom') };
  const name = check(relayUserName, values.name);
  const server = checkServer(servers, values.serverId);
  const password: Checked<string | null> = typedPassword === '' ? { ok: true, value: null } : check(relayPassword, typedPassword);
  const allowFrom = check(allowFromList, values.allowFrom);
  const form: NewRelayUserForm = {
    values,
    errors: { name: errorOf(name), serverId: errorOf(server), password: errorOf(password), allowFrom: errorOf(allowFrom) },
  };
  if (!name.ok || !server.ok || !password.ok || !allowFrom.ok) return { input: null, form };
  return { input: { name: name.value, server: server.value, password: password.value, allowFrom: allowFrom.value }, form };
}

/** The change form of one relay user: its email server and allowed From list. */
export function parseRelayUserSettings(
  body: Body,
  servers: readonly EmailServer[],
): { input: { server: EmailServer; allowFrom: string[] } | null; form: RelayUserSettingsForm } {
  const values = { serverId: formText(body, 'serverId'), allowFrom: formText(body, 'allowFrom') };
  const server = checkServer(servers, values.serverId);
  const allowFrom = check(allowFromList, values.allowFrom);
  const form: RelayUserSettingsForm = { values, errors: { serverId: errorOf(server), allowFrom: errorOf(allowFrom) } };
  if (!server.ok || !allowFrom.ok) return { input: null, form };
  return { input: { server: server.value, allowFrom: allowFrom.value }, form };
}

/** The add form of a network rule. */
export function parseNetworkRule(
  body: Body,
  servers: readonly EmailServer[],
): { input: { cidr: Cidr; server: EmailServer } | null; form: NetworkForm } {
  const values = { cidr: formText(body, 'cidr'), serverId: formText(body, 'serverId') };
  const network = check(cidr, values.cidr);
  const server = checkServer(servers, values.serverId);
  const form: NetworkForm = { values, errors: { cidr: errorOf(network), serverId: errorOf(server) } };
  if (!network.ok || !server.ok) return { input: null, form };
  return { input: { cidr: network.value, server: server.value }, form };
}

/** A CIDR from a hidden field (remove buttons); null when it does not parse. */
export function cidrField(body: Body): Cidr | null {
  const checked = check(cidr, formText(body, 'cidr'));
  return checked.ok ? checked.value : null;
}
