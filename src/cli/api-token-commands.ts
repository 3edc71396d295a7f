/**
 * `relay365 api-token add|list|revoke`: the tokens that authorize the REST
 * API (/api/v1). A new token is printed once, alone on the last line; only
 * its SHA-256 is stored, so it can be revoked but never shown again.
 */
import { newApiTokenSchema, type ApiToken } from '../store/api-tokens.js';
import type { StoreSlice } from '../store/index.js';
import { unlessTaken } from '../store/unique-violation.js';
import { formatTime, formatTimeOrNever } from '../time-format.js';
import { flagValue, noPositionals, onePositional, requireFlag, type Print } from './flags.js';
import { JSON_FLAG, NO_FLAGS, subcommand, subcommandGroup, type ParsedFlags } from './subcommands.js';
import { UsageError } from './usage-error.js';

/** What every `api-token` sub-command works with. */
export interface ApiTokenContext {
  store: StoreSlice<{ apiTokens: 'add' | 'findByName' | 'list' | 'revoke' }>;
  print: Print;
}

const ADD_FLAGS = { name: { type: 'string' }, scope: { type: 'string' } } as const;

const isoOrNull = (at: number | null): string | null => (at === null ? null : new Date(at).toISOString());

async function add({ store, print }: ApiTokenContext, { values, positionals }: ParsedFlags<typeof ADD_FLAGS>): Promise<void> {
  const example = 'relay365 api-token add --name provisioning --scope write';
  noPositionals(positionals);
  const name = flagValue('name', requireFlag('name', values.name, example), newApiTokenSchema.shape.name);
  const scope = flagValue('scope', requireFlag('scope', values.scope, example), newApiTokenSchema.shape.scope);
  const nameTaken = (): never => {
    throw new UsageError(`an API token named ${JSON.stringify(name)} exists already`);
  };
  if (await store.apiTokens.findByName(name)) nameTaken();
  const { apiToken, token } = (await unlessTaken(store.apiTokens.add({ name, scope }))) ?? nameTaken();
  print(`added API token ${apiToken.name} (${apiToken.scope === 'write' ? 'read and write' : 'read only'})`);
  print('it is shown only this once, on the next line; send it as "Authorization: Bearer <token>":');
  print(token);
}

const row = (t: ApiToken) => ({
  name: t.name,
  scope: t.scope,
  hint: t.hint,
  createdAt: isoOrNull(t.createdAt),
  lastUsedAt: isoOrNull(t.lastUsedAt),
});

async function list({ store, print }: ApiTokenContext, { values, positionals }: ParsedFlags<typeof JSON_FLAG>): Promise<void> {
  noPositionals(positionals);
  const tokens = await store.apiTokens.list();
  if (values.json) {
    print(JSON.stringify(tokens.map(row), null, 2));
    return;
  }
  if (tokens.length === 0) print('no API tokens; add one with relay365 api-token add --name NAME --scope read|write');
  for (const t of tokens) {
    print(`${t.name}: ${t.scope}, ${t.hint}, created ${formatTime(t.createdAt)}, last used ${formatTimeOrNever(t.lastUsedAt)}`);
  }
}

async function revoke({ store, print }: ApiTokenContext, { positionals }: ParsedFlags<typeof NO_FLAGS>): Promise<void> {
  const name = onePositional(positionals, 'relay365 api-token revoke provisioning');
  const token = await store.apiTokens.findByName(name);
  if (!token) throw new UsageError(`no API token named ${JSON.stringify(name)} (see relay365 api-token list)`);
  await store.apiTokens.revoke(token.id);
  print(`revoked API token ${token.name}; requests with it now get 401`);
}

/** `api-token add|list|revoke`; a handler throws UsageError on bad input. */
export const API_TOKEN_COMMAND = subcommandGroup<ApiTokenContext>('api-token', {
  add: subcommand(ADD_FLAGS, add),
  list: subcommand(JSON_FLAG, list),
  revoke: subcommand(NO_FLAGS, revoke),
});
