/**
 * The settings a new email server starts with, shared by the panel and the
 * CLI: Office 365 servers get STARTTLS on 587 to their cloud's SMTP host and
 * Microsoft's per-mailbox limits.
 */
import type { ServerSettings } from '../store/servers.js';
import { defaultSmtpHost } from './clouds.js';

/** Completes `given` with defaults; `host` stays empty for non-Microsoft or Custom-cloud servers without one. */
export function newServerSettings(given: Partial<ServerSettings> & Pick<ServerSettings, 'name'>): ServerSettings {
  const method = given.method ?? 'office365';
  const cloud = given.cloud ?? 'global';
  const defined = Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined)) as Partial<ServerSettings>;
  return {
    method,
    signInMode: 'application',
    secure: 'tls',
    host: method === 'office365' && cloud !== 'custom' ? defaultSmtpHost(cloud) : '',
    port: 587,
    tenantId: null,
    clientId: null,
    clientSecret: null,
    clientSecretExpires: null,
    cloud,
    authorityHost: null,
    smtpResource: null,
    mailbox: null,
    username: null,
    password: null,
    maxConnections: 3,
    messagesPerMinute: 30,
    recipientsPerDay: 10_000,
    fromHandling: 'keep',
    ...defined,
    name: given.name,
  };
}
