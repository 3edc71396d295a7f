import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('gives a working local relay with no settings', () => {
    const config = loadConfig({});
    expect(config.smtpListen).toEqual({ host: '127.0.0.1', port: 2525 });
    expect(config.adminListen).toEqual({ host: '127.0.0.1', port: 8025 });
    expect(config.smtpsListen).toBeNull();
    expect(config.publicUrl).toBe('http://localhost:8025');
    expect(config.maxMessageSize).toBe(35_000_000);
    expect(config.dataDir).toBe(path.resolve('./data'));
    expect(config.relayNetworks.map((c) => c.text)).toEqual(['127.0.0.0/8', '::1/128']);
    expect(config).toMatchObject({
      allowPlaintextAuth: false,
      tlsMinVersion: 'TLSv1.2',
      maxConnectionsPerClient: 50,
      maxConnections: 1000,
      trustedProxies: [],
      smtpProxyProtocol: false,
    });
    expect(config.minFreeSpace).toBe(100_000_000);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads relay networks and listener settings; an empty RELAY365_RELAY_NETWORKS means none', () => {
    const config = loadConfig({
      RELAY365_RELAY_NETWORKS: ' 10.1.0.0/16, 2001:DB8::/32 ,192.168.1.7',
      RELAY365_ALLOW_PLAINTEXT_AUTH: 'TRUE',
      RELAY365_TLS_MIN_VERSION: 'TLSv1',
      RELAY365_MAX_CONNECTIONS_PER_CLIENT: '5',
    });
    expect(config.relayNetworks.map((c) => c.text)).toEqual(['10.1.0.0/16', '2001:db8::/32', '192.168.1.7/32']);
    expect(config).toMatchObject({ allowPlaintextAuth: true, tlsMinVersion: 'TLSv1', maxConnectionsPerClient: 5 });
    expect(loadConfig({ RELAY365_RELAY_NETWORKS: '' }).relayNetworks).toEqual([]);
  });

  it('parses IPv6 listeners, sizes and levels', () => {
    const config = loadConfig({ RELAY365_SMTP_LISTEN: '[::1]:25', RELAY365_MAX_MESSAGE_SIZE: '10MiB', RELAY365_LOG_LEVEL: 'WARN' });
    expect(config.smtpListen).toEqual({ host: '::1', port: 25 });
    expect(config.maxMessageSize).toBe(10 * 1024 * 1024);
    expect(config.logLevel).toBe('warn');
  });

  it('reads RELAY365_MIN_FREE_SPACE as a size; 0 turns the check off', () => {
    expect(loadConfig({ RELAY365_MIN_FREE_SPACE: '5GB' }).minFreeSpace).toBe(5e9);
    expect(loadConfig({ RELAY365_MIN_FREE_SPACE: '0' }).minFreeSpace).toBe(0);
  });

  it('keeps delivered and failed mail 30 days unless RELAY365_RETENTION_DAYS says otherwise', () => {
    expect(loadConfig({}).retentionDays).toBe(30);
    expect(loadConfig({ RELAY365_RETENTION_DAYS: '7' }).retentionDays).toBe(7);
  });

  it('reads the operations settings: metrics token, log format, alert channels and shutdown timeout', () => {
    expect(loadConfig({})).toMatchObject({
      metricsToken: null,
      logFormat: 'json',
      alertWebhookUrl: null,
      alertEmails: [],
      shutdownTimeoutMs: 30_000,
    });
    const config = loadConfig({
      RELAY365_METRICS_TOKEN: 'scrape-me-please',
      RELAY365_LOG_FORMAT: 'Pretty',
      RELAY365_ALERT_WEBHOOK_URL: 'https://example.webhook.office.com/webhookb2/abc',
      RELAY365_ALERT_EMAIL: ' ops@contoso.com, it@contoso.com ',
      RELAY365_SHUTDOWN_TIMEOUT: '2m',
    });
    expect(config).toMatchObject({
      metricsToken: 'scrape-me-please',
      logFormat: 'pretty',
      alertWebhookUrl: 'https://example.webhook.office.com/webhookb2/abc',
      alertEmails: ['ops@contoso.com', 'it@contoso.com'],
      shutdownTimeoutMs: 120_000,
    });
    expect(loadConfig({ RELAY365_SHUTDOWN_TIMEOUT: '1500ms' }).shutdownTimeoutMs).toBe(1_500);
    expect(loadConfig({ RELAY365_SHUTDOWN_TIMEOUT: '10' }).shutdownTimeoutMs).toBe(10_000);
  });

  it('points RELAY365_PUBLIC_URL at the admin listener when only the listener moved', () => {
    expect(loadConfig({ RELAY365_ADMIN_LISTEN: '127.0.0.1:9025' }).publicUrl).toBe('http://localhost:9025');
    expect(loadConfig({ RELAY365_ADMIN_LISTEN: '0.0.0.0:9025' }).publicUrl).toBe('http://localhost:9025');
    expect(loadConfig({ RELAY365_ADMIN_LISTEN: '[::1]:9025' }).publicUrl).toBe('http://localhost:9025');
    // On one other address, localhost would not reach the panel at all.
    expect(loadConfig({ RELAY365_ADMIN_LISTEN: '192.0.2.10:9025' }).publicUrl).toBe('http://192.0.2.10:9025');
    expect(loadConfig({ RELAY365_ADMIN_LISTEN: '[2001:db8::10]:9025' }).publicUrl).toBe('http://[2001:db8::10]:9025');
    expect(loadConfig({ RELAY365_ADMIN_LISTEN: '0.0.0.0:9025', RELAY365_PUBLIC_URL: 'https://relay.contoso.test/' }).publicUrl).toBe(
      'https://relay.contoso.test',
    );
  });

  it('reads the address and ports devices use; SMTPS ports only while that listener is on', () => {
    expect(loadConfig({})).toMatchObject({ smtpPublicHost: null, smtpPublicPorts: null, smtpsPublicPorts: null });
    const config = loadConfig({
      RELAY365_SMTPS_LISTEN: '0.0.0.0:4465',
      RELAY365_SMTP_PUBLIC_HOST: 'Relay.Contoso.test',
      RELAY365_SMTP_PUBLIC_PORTS: ' 587, 25,587',
      RELAY365_SMTPS_PUBLIC_PORTS: '465',
    });
    expect(config).toMatchObject({ smtpPublicHost: 'Relay.Contoso.test', smtpPublicPorts: [587, 25], smtpsPublicPorts: [465] });
    expect(loadConfig({ RELAY365_SMTP_PUBLIC_HOST: '[2001:db8::25]' }).smtpPublicHost).toBe('2001:db8::25');
    expect(loadConfig({ RELAY365_SMTP_PUBLIC_HOST: '192.0.2.25' }).smtpPublicHost).toBe('192.0.2.25');
    // The image names the published SMTPS port; a deployment that turns the listener off keeps starting.
    expect(loadConfig({ RELAY365_SMTPS_PUBLIC_PORTS: '465' }).smtpsPublicPorts).toBeNull();
  });

  it('reads secrets from NAME_FILE', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'relay365-config-'));
    writeFileSync(path.join(dir, 'key'), `${'ab'.repeat(32)}\n`);
    expect(loadConfig({ RELAY365_SECRET_KEY_FILE: path.join(dir, 'key') }).secretKey).toBe('ab'.repeat(32));
  });

  it.each([
    [{ RELAY365_SMTP_LISTEN: 'localhost' }, 'RELAY365_SMTP_LISTEN="localhost" is not valid: host:port'],
    [{ RELAY365_SMTP_LISTEN: '127.0.0.1:70000' }, 'RELAY365_SMTP_LISTEN="127.0.0.1:70000"'],
    [{ RELAY365_MAX_MESSAGE_SIZE: 'huge' }, 'RELAY365_MAX_MESSAGE_SIZE="huge" is not valid: a size'],
    [{ RELAY365_MIN_FREE_SPACE: 'lots' }, 'RELAY365_MIN_FREE_SPACE="lots" is not valid: a size'],
    [{ RELAY365_MIN_FREE_SPACE: '2000000GB' }, 'is not valid: a size from 0 (no check) to 1PiB'],
    [{ RELAY365_RETENTION_DAYS: '0' }, 'RELAY365_RETENTION_DAYS="0" is not valid: a whole number from 1 to 3650'],
    [{ RELAY365_LOG_LEVEL: 'loud' }, 'RELAY365_LOG_LEVEL="loud" is not valid: one of debug, info, warn, error'],
    [{ RELAY365_PUBLIC_URL: 'ftp://x' }, 'RELAY365_PUBLIC_URL="ftp://x"'],
    [{ RELAY365_RELAY_NETWORKS: '10.0.0.0/33' }, 'RELAY365_RELAY_NETWORKS="10.0.0.0/33" is not valid: comma-separated CIDRs'],
    [{ RELAY365_RELAY_NETWORKS: '10.0.0.0/8,lan' }, 'RELAY365_RELAY_NETWORKS="10.0.0.0/8,lan" is not valid'],
    [{ RELAY365_ALLOW_PLAINTEXT_AUTH: 'sometimes' }, 'RELAY365_ALLOW_PLAINTEXT_AUTH="sometimes" is not valid: true or false'],
    [{ RELAY365_TLS_MIN_VERSION: 'SSLv3' }, 'RELAY365_TLS_MIN_VERSION="SSLv3" is not valid: one of TLSv1, TLSv1.1, TLSv1.2, TLSv1.3'],
    [{ RELAY365_MAX_CONNECTIONS_PER_CLIENT: '0' }, 'RELAY365_MAX_CONNECTIONS_PER_CLIENT="0" is not valid: a whole number from 1'],
    [{ RELAY365_MAX_CONNECTIONS: 'many' }, 'RELAY365_MAX_CONNECTIONS="many" is not valid: a whole number from 1 to 100000'],
    [{ RELAY365_TRUSTED_PROXIES: '10.0.0.0/8,lb' }, 'RELAY365_TRUSTED_PROXIES="10.0.0.0/8,lb" is not valid: comma-separated CIDRs'],
    [{ RELAY365_SMTP_PROXY_PROTOCOL: 'v2' }, 'RELAY365_SMTP_PROXY_PROTOCOL="v2" is not valid: true or false'],
    [{ RELAY365_SMTP_PROXY_PROTOCOL: 'true' }, 'RELAY365_SMTP_PROXY_PROTOCOL="true" is not valid: true only with RELAY365_TRUSTED_PROXIES'],
    [{ RELAY365_TLS_CERT_FILE: '/x.pem' }, 'RELAY365_TLS_KEY_FILE'],
    [{ RELAY365_SECRET_KEY: 'short' }, 'RELAY365_SECRET_KEY="(hidden)" is not valid: at least 32 characters'],
    [{ RELAY365_LOG_FORMAT: 'xml' }, 'RELAY365_LOG_FORMAT="xml" is not valid: one of json, pretty'],
    [
      { RELAY365_ALERT_WEBHOOK_URL: 'teams.example/secret-path' },
      'RELAY365_ALERT_WEBHOOK_URL="(hidden)" is not valid: an http:// or https:// URL',
    ],
    [
      { RELAY365_ALERT_EMAIL: 'ops@contoso.com,ops' },
      'RELAY365_ALERT_EMAIL="ops@contoso.com,ops" is not valid: comma-separated email addresses',
    ],
    // The one address grammar: a host name has no underscore.
    [
      { RELAY365_ALERT_EMAIL: 'ops@contoso_it.com' },
      'RELAY365_ALERT_EMAIL="ops@contoso_it.com" is not valid: comma-separated email addresses such as admin@contoso.com (not "ops@contoso_it.com")',
    ],
    [{ RELAY365_SHUTDOWN_TIMEOUT: 'soon' }, 'RELAY365_SHUTDOWN_TIMEOUT="soon" is not valid: a duration such as 30s'],
    [{ RELAY365_SHUTDOWN_TIMEOUT: '2h' }, 'RELAY365_SHUTDOWN_TIMEOUT="2h" is not valid: a duration from 0s to 1h'],
    [{ RELAY365_ADMIN_PASSWORD_FILE: '/nonexistent/pw' }, 'RELAY365_ADMIN_PASSWORD_FILE="/nonexistent/pw" is not valid: a readable file'],
    [{ RELAY365_SMTP_PUBLIC_HOST: 'relay contoso' }, 'RELAY365_SMTP_PUBLIC_HOST="relay contoso" is not valid: a host name such as'],
    [{ RELAY365_SMTP_PUBLIC_HOST: 'relay.contoso.test:25' }, 'RELAY365_SMTP_PUBLIC_HOST="relay.contoso.test:25" is not valid'],
    [
      { RELAY365_SMTP_PUBLIC_PORTS: '587,smtp' },
      'RELAY365_SMTP_PUBLIC_PORTS="587,smtp" is not valid: comma-separated ports from 1 to 65535',
    ],
    [{ RELAY365_SMTP_PUBLIC_PORTS: '0' }, 'RELAY365_SMTP_PUBLIC_PORTS="0" is not valid'],
    [{ RELAY365_SMTPS_PUBLIC_PORTS: '70000' }, 'RELAY365_SMTPS_PUBLIC_PORTS="70000" is not valid'],
  ])('refuses %o with one clear line', (env, message) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).not.toContain('\n');
  });
});
