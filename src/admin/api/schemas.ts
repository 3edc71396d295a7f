/**
 * The API's bodies and answers, derived from the store's own schemas: an
 * email server's settings from server-schema.ts, relay access from
 * access-schemas.ts, API tokens from api-tokens.ts. A value the panel or the
 * CLI refuses is refused here with the same message. Times are ISO 8601.
 */
import { z } from '@hono/zod-openapi';
import { PRESET_NAMES } from '../../auth/server-presets.js';
import { allowFromList, cidr, relayPassword, relayUserName } from '../../store/access-schemas.js';
import type { QueuedMessage, Recipient, MessageEvent, MessageStatus } from '../../store/queue.js';
import { serverSettingsSchema } from '../../store/server-schema.js';
import type { EmailServer } from '../../store/servers.js';
import type { NetworkRule } from '../../store/networks.js';
import type { RelayUser } from '../../store/relay-users.js';

const iso = (at: number | null): string | null => (at === null ? null : new Date(at).toISOString());
const time = z.iso.datetime();
const idParam = z.coerce.number().int().positive().meta({ description: 'The numeric ID from the list.' });

export const MESSAGE_STATUSES = [
  'queued',
  'deferred',
  'sending',
  'held',
  'delivered',
  'failed',
] as const satisfies readonly MessageStatus[];

export const idParams = z.object({ id: idParam.meta({ param: { name: 'id', in: 'path' } }) });

/** `isDefault` puts the relay's default server (RELAY365_RELAY_NETWORKS) on this one. */
const isDefault = z.boolean().optional().meta({ description: 'Make this the default email server.' });

/** A preset fills method, host, port, security and limits for one of Microsoft's endpoints; settings given win. */
const preset = z
  .enum(PRESET_NAMES, { error: `Choose one of ${PRESET_NAMES.join(', ')}.` })
  .optional()
  .meta({
    description:
      'office365: Exchange Online SMTP AUTH (smtp.office365.com); hve: High Volume Email (smtp-hve.office365.com, application sign-in); acs: Azure Communication Services SMTP (smtp.azurecomm.net, method password).',
  });

/** A new email server: Name and any other settings; the rest take a preset's values or their defaults (as with `server add`). */
export const newServerBody = serverSettingsSchema
  .partial()
  .required({ name: true })
  .extend({ isDefault, preset })
  .strict()
  .openapi('NewEmailServer');
/** Settings to change; secrets are write-only and never answered. */
export const serverChangesBody = serverSettingsSchema.partial().extend({ isDefault }).strict().openapi('EmailServerChanges');

const queueCounts = z.object(Object.fromEntries(MESSAGE_STATUSES.map((s) => [s, z.number().int()])) as Record<MessageStatus, z.ZodNumber>);

export const serverSchema = serverSettingsSchema
  .omit({ clientSecret: true, password: true, clientCertificate: true })
  .extend({
    // The setting's schema takes any list and checks each entry; what comes back is always addresses.
    sendAs: z.array(z.string()).meta({ description: 'Send As Addresses' }),
    id: z.number().int(),
    isDefault: z.boolean(),
    hasClientSecret: z.boolean(),
    hasPassword: z.boolean(),
    hasClientCertificate: z.boolean(),
    clientCertificateThumbprint: z
      .string()
      .nullable()
      .meta({ description: "The client certificate's SHA-256 thumbprint, upper-case hex as Entra shows it." }),
    clientCertificateExpiresAt: time.nullable().meta({ description: 'When the client certificate expires (its notAfter).' }),
    status: z.enum(['not_authorized', 'authorized', 'error']),
    statusCode: z.string().nullable().meta({ description: 'The Microsoft code behind a problem (AADSTS… or an SMTP reply code).' }),
    statusMessage: z.string().nullable(),
    statusHint: z.string().nullable().meta({ description: 'What the problem means and how to fix it.' }),
    statusAt: time.nullable(),
    authorizedAccount: z.string().nullable(),
    tokenRefreshedAt: time.nullable(),
    queue: queueCounts,
  })
  .openapi('EmailServer');

/** An email server as the API shows it: never a secret, only whether it is set. */
export function serverOut(server: EmailServer, queue: Record<MessageStatus, number>): z.input<typeof serverSchema> {
  // `revision` is the relay's own change counter, not a setting.
  const { revision, ...shown } = server;
  return {
    ...shown,
    statusAt: iso(server.statusAt),
    tokenRefreshedAt: iso(server.tokenRefreshedAt),
    clientCertificateExpiresAt: iso(server.clientCertificateExpiresAt),
    queue,
  };
}

/** An allowed From list as a JSON array, checked by the same rules as the panel's text field. */
const allowFromArray = z
  .array(z.string())
  .transform((list) => list.join('\n'))
  .pipe(allowFromList)
  .meta({ description: 'Addresses and @domains this user may send as; empty: any sender.' });
const serverIdField = z.number().int().positive().meta({ description: 'The email server (ID) this user’s mail goes to.' });

export const newRelayUserBody = z
  .object({
    name: relayUserName,
    serverId: serverIdField,
    password: relayPassword.optional().meta({ description: 'Leave out to have one generated; it is answered once.', writeOnly: true }),
    allowFrom: allowFromArray.optional(),
  })
  .strict()
  .openapi('NewRelayUser');

export const relayUserChangesBody = z
  .object({
    serverId: serverIdField.optional(),
    password: relayPassword.optional().meta({ writeOnly: true }),
    allowFrom: allowFromArray.optional(),
    disabled: z.boolean().optional(),
  })
  .strict()
  .openapi('RelayUserChanges');

export const relayUserSchema = z
  .object({
    id: z.number().int(),
    name: z.string(),
    serverId: z.number().int(),
    server: z.string().nullable(),
    allowFrom: z.array(z.string()),
    disabled: z.boolean(),
    lastUsedAt: time.nullable(),
    createdAt: time,
  })
  .openapi('RelayUser');

export function relayUserOut(user: RelayUser, serverName: string | null): z.input<typeof relayUserSchema> {
  return {
    id: user.id,
    name: user.name,
    serverId: user.serverId,
    server: serverName,
    allowFrom: user.allowFrom,
    disabled: user.disabled,
    lastUsedAt: iso(user.lastUsedAt),
    createdAt: iso(user.createdAt) as string,
  };
}

export const newNetworkBody = z
  .object({
    cidr,
    serverId: serverIdField,
    force: z
      .boolean()
      .optional()
      .meta({ description: 'Allow a network wider than a /8 (IPv4) or /32 (IPv6): anyone in it could send mail as your tenant.' }),
  })
  .strict()
  .openapi('NewNetwork');

export const networkSchema = z
  .object({
    id: z.number().int().nullable().meta({ description: 'null for the rules of RELAY365_RELAY_NETWORKS, which change only with it.' }),
    cidr: z.string(),
    serverId: z.number().int().nullable(),
    server: z.string().nullable(),
    source: z.enum(['stored', 'environment']),
    createdAt: time.nullable(),
  })
  .openapi('Network');

/** A stored network rule as the API shows it. */
export function networkOut(rule: NetworkRule, serverName: string | null): z.input<typeof networkSchema> {
  return { id: rule.id, cidr: rule.cidr, serverId: rule.serverId, server: serverName, source: 'stored', createdAt: iso(rule.createdAt) };
}

export const recipientSchema = z.object({ address: z.string(), status: z.string(), reply: z.string().nullable() });

export const messageSchema = z
  .object({
    id: z.string(),
    serverId: z.number().int().nullable(),
    status: z.enum(MESSAGE_STATUSES),
    mailFrom: z.string(),
    recipients: z.array(recipientSchema),
    subject: z.string().nullable(),
    size: z.number().int(),
    clientAddress: z.string().nullable(),
    route: z.string().nullable(),
    relayUser: z.string().nullable(),
    attempts: z.number().int(),
    receivedAt: time,
    nextAttemptAt: time,
    expiresAt: time,
    lastReply: z.string().nullable(),
  })
  .openapi('Message');

export function messageOut(m: QueuedMessage, recipients: Recipient[]): z.input<typeof messageSchema> {
  return {
    id: m.id,
    serverId: m.serverId,
    status: m.status,
    mailFrom: m.mailFrom,
    recipients,
    subject: m.subject,
    size: m.size,
    clientAddress: m.clientAddress,
    route: m.route,
    relayUser: m.relayUser,
    attempts: m.attempts,
    receivedAt: iso(m.receivedAt) as string,
    nextAttemptAt: iso(m.nextAttemptAt) as string,
    expiresAt: iso(m.expiresAt) as string,
    lastReply: m.lastReply,
  };
}

export const hintSchema = z.object({ meaning: z.string(), fix: z.string() }).nullable();

export const eventSchema = z.object({ at: time, kind: z.string(), detail: z.string().nullable() });

export const eventOut = (e: MessageEvent): z.input<typeof eventSchema> => ({ at: iso(e.at) as string, kind: e.kind, detail: e.detail });
