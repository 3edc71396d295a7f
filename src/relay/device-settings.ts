/**
 * The SMTP settings a device enters to hand mail to relay365: the server's
 * name or address, the ports with the security each needs, and whether it
 * logs in. Computed here, once, from the listener settings; the relay user
 * page, the Networks page and `relay365 relay-user add` only render them.
 */
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { listenScope, type Config, type ListenAddress } from '../config.js';
import type { ListenerInfo } from './index.js';

/** The settings that decide what a device must enter. */
export type DeviceListen = Pick<
  Config,
  'smtpListen' | 'smtpsListen' | 'smtpPublicHost' | 'smtpPublicPorts' | 'smtpsPublicPorts' | 'allowPlaintextAuth'
>;

/** The "Security" (or "Encryption") choice as devices name it. */
export type DeviceSecurity = 'STARTTLS' | 'SSL/TLS' | 'none';

export interface DeviceConnection {
  /** The ports that lead to one listener, best first. */
  ports: readonly number[];
  security: DeviceSecurity;
}

export interface DeviceSettings {
  /** What the device enters as SMTP server, best first. */
  hosts: readonly string[];
  /** The ways to connect, best first. */
  connections: readonly [DeviceConnection, ...DeviceConnection[]];
  /** The relay user the device logs in as, or null: a device in an allowed network sends without logging in. */
  login: string | null;
  /** What the admin should know first: who can reach these settings, where the server's address came from. */
  notes: readonly string[];
}

export interface DeviceSettingsInput {
  listen: DeviceListen;
  /** The addresses the running listeners bound, or null before they start: a listener on port 0 gets its port only then. */
  bound?: Pick<ListenerInfo, 'smtp' | 'smtps'> | null;
  /** The relay user's name, or null for a device in an allowed network. */
  login: string | null;
  /** This machine's network interfaces (default: `os.networkInterfaces()`). */
  interfaces?: NodeJS.Dict<NetworkInterfaceInfo[]>;
}

/** One line of the settings as a device's form asks for them. */
export interface DeviceSettingLine {
  label: string;
  value: string;
}

/** IPv4 169.254.0.0/16 and IPv6 fe80::/10: valid on one link only, and an IPv6 one needs a zone a device cannot enter. */
const LINK_LOCAL = /^(169\.254\.|fe[89ab][0-9a-f]:)/i;

/** The port of `host:port` or `[v6]:port` as ListenerInfo writes it. */
const portOf = (text: string): number => Number(text.slice(text.lastIndexOf(':') + 1));

/** This machine's addresses that other machines can reach, IPv4 first; IPv6 only when the listener takes it. */
function machineAddresses(interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>, ipv6: boolean): string[] {
  const usable = Object.values(interfaces)
    .flatMap((list) => list ?? [])
    .filter((a) => !a.internal && !LINK_LOCAL.test(a.address));
  const v4 = usable.filter((a) => a.family === 'IPv4').map((a) => a.address);
  const v6 = ipv6 ? usable.filter((a) => a.family === 'IPv6').map((a) => a.address) : [];
  return [...new Set([...v4, ...v6])];
}

/** The server address devices enter, and what the admin should know about it. */
function hostsFor(listen: DeviceListen, interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>): { hosts: string[]; notes: string[] } {
  if (listen.smtpPublicHost !== null) return { hosts: [listen.smtpPublicHost], notes: [] };
  const at = listen.smtpListen;
  const scope = listenScope(at);
  if (scope === 'one') return { hosts: [at.host], notes: [] };
  if (scope === 'loopback') {
    return {
      hosts: ['localhost'],
      notes: [
        `Only this machine can reach relay365: RELAY365_SMTP_LISTEN (${at.host}) listens on loopback. ` +
          `For devices on the network, set it to 0.0.0.0:${at.port} or to an address of this machine.`,
      ],
    };
  }
  const hosts = machineAddresses(interfaces, at.host !== '0.0.0.0');
  if (hosts.length === 0) {
    return { hosts: ['localhost'], notes: ['Only this machine can reach relay365: it has no network address besides loopback.'] };
  }
  return {
    hosts,
    notes: [
      `These are this machine's addresses. When devices reach relay365 by a name, through port forwarding or a container's ` +
        `published ports, set RELAY365_SMTP_PUBLIC_HOST${listen.smtpPublicPorts === null ? ' (and RELAY365_SMTP_PUBLIC_PORTS)' : ''}.`,
    ],
  };
}

/**
 * The settings a device enters to send through relay365: as a relay user (`login`), or from an allowed
 * network without logging in. The server is RELAY365_SMTP_PUBLIC_HOST, else the listener's own address,
 * else this machine's addresses (`localhost` only when nothing else can reach the listener); the ports are
 * RELAY365_SMTP_PUBLIC_PORTS / RELAY365_SMTPS_PUBLIC_PORTS, else the listeners' own. STARTTLS comes first,
 * then implicit TLS, then no security where that works: always for a network, for a relay user only with
 * RELAY365_ALLOW_PLAINTEXT_AUTH, since relay365 otherwise offers AUTH only over TLS.
 */
export function deviceSettings({ listen, bound = null, login, interfaces = networkInterfaces() }: DeviceSettingsInput): DeviceSettings {
  const ownPort = (at: ListenAddress, text: string | null | undefined): number => (at.port === 0 && text ? portOf(text) : at.port);
  const smtpPorts = listen.smtpPublicPorts ?? [ownPort(listen.smtpListen, bound?.smtp)];
  const connections: [DeviceConnection, ...DeviceConnection[]] = [{ ports: smtpPorts, security: 'STARTTLS' }];
  if (listen.smtpsListen !== null) {
    connections.push({ ports: listen.smtpsPublicPorts ?? [ownPort(listen.smtpsListen, bound?.smtps)], security: 'SSL/TLS' });
  }
  if (login === null || listen.allowPlaintextAuth) connections.push({ ports: smtpPorts, security: 'none' });
  return { ...hostsFor(listen, interfaces), connections, login };
}

const SECURITY_TEXT: Record<DeviceSecurity, string> = { STARTTLS: 'STARTTLS', 'SSL/TLS': 'SSL/TLS (implicit TLS)', none: 'none' };

/** The settings as label and value, in the order a device's SMTP form asks for them; every front end shows these. */
export function deviceSettingLines(settings: DeviceSettings): DeviceSettingLine[] {
  const [first, ...others] = settings.connections;
  const lines: DeviceSettingLine[] = [
    { label: 'SMTP server', value: settings.hosts.join(' or ') },
    { label: 'Port', value: first.ports.join(' or ') },
    { label: 'Security', value: SECURITY_TEXT[first.security] },
  ];
  for (const other of others) {
    const clear = other.security === 'none' && settings.login !== null;
    lines.push({
      label: 'Or',
      value: `port ${other.ports.join(' or ')} with security ${SECURITY_TEXT[other.security]}${
        clear ? ': the password then crosses the network in clear text' : ''
      }`,
    });
  }
  if (settings.login === null) {
    lines.push({ label: 'Authentication', value: 'off: devices whose address is in an allowed network send without logging in' });
    return lines;
  }
  lines.push(
    { label: 'Authentication', value: 'on (PLAIN or LOGIN)' },
    { label: 'Username', value: settings.login },
    { label: 'Password', value: "the relay user's password" },
  );
  return lines;
}
