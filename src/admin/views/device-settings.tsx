/**
 * The SMTP settings a device enters to relay through relay365 as one relay
 * user: host, port, security and username, taken from the running listener.
 */
import type { ListenerInfo } from '../env.js';

export interface DeviceSettingsProps {
  info: ListenerInfo | null;
  /** RELAY365_PUBLIC_URL: its host name stands in when the listener listens on every address. */
  publicUrl: string;
  username: string;
}

const WILDCARDS = new Set(['0.0.0.0', '::']);
const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

/** Splits `127.0.0.1:2525` or `[::]:2525` into the host a device should use and the port. */
export function deviceAddress(listen: string, publicUrl: string): { host: string; port: string } {
  const at = listen.lastIndexOf(':');
  const address = listen.slice(0, at).replace(/^\[|\]$/g, '');
  const port = listen.slice(at + 1);
  if (WILDCARDS.has(address)) return { host: new URL(publicUrl).hostname, port };
  // The generated certificate names localhost, and a device on this machine reaches it so.
  if (LOOPBACK.test(address)) return { host: 'localhost', port };
  return { host: address, port };
}

export function DeviceSettings({ info, publicUrl, username }: DeviceSettingsProps) {
  if (!info) {
    return <p class="muted">The SMTP listener has not started yet, so its address is not known. Reload this page once relay365 runs.</p>;
  }
  const smtp = deviceAddress(info.smtp, publicUrl);
  const smtps = info.smtps ? deviceAddress(info.smtps, publicUrl) : null;
  return (
    <dl class="facts device-settings">
      <dt>SMTP server</dt>
      <dd>{smtp.host}</dd>
      <dt>Port</dt>
      <dd>{smtp.port}</dd>
      <dt>Security</dt>
      <dd>
        Use STARTTLS.{' '}
        {info.allowPlaintextAuth
          ? 'relay365 also accepts the login without it, but then the password crosses the network in clear text.'
          : 'relay365 offers the login only after STARTTLS.'}
        {smtps ? ` Or use SSL/TLS (implicit TLS) on port ${smtps.port}.` : null}
      </dd>
      <dt>Authentication</dt>
      <dd>Yes: PLAIN or LOGIN</dd>
      <dt>Username</dt>
      <dd>{username}</dd>
      <dt>Password</dt>
      <dd>the relay user's password</dd>
    </dl>
  );
}
