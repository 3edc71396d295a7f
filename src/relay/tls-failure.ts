/**
 * A failed TLS handshake with an SMTP client, in words an admin can act on:
 * OpenSSL's reason turned into what the device did and what to change. The
 * commonest case is an old printer that speaks only TLS 1.0 or 1.1 while
 * relay365 requires RELAY365_TLS_MIN_VERSION (TLS 1.2 by default).
 */
import type { TlsVersion } from '../config.js';

export interface TlsFailure {
  /** What happened, naming the versions where OpenSSL tells them apart. */
  detail: string;
  /** What the admin can do. */
  hint: string;
}

/** The OpenSSL reason at the end of a Node TLS error (`...:SSL routines::unsupported protocol`). */
function reasonOf(err: NodeJS.ErrnoException & { reason?: string }): string {
  return (err.reason ?? /::([^:]+)$/.exec(err.message)?.[1] ?? err.message).toLowerCase();
}

/** Describes a handshake error of a client session on a listener that requires `minVersion`. */
export function describeTlsFailure(err: Error, minVersion: TlsVersion): TlsFailure {
  const reason = reasonOf(err as NodeJS.ErrnoException & { reason?: string });
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (reason.includes('unsupported protocol') || reason.includes('version too low')) {
    return {
      detail: `TLS handshake failed: the client offers only TLS versions older than ${minVersion}, the lowest this listener accepts`,
      hint:
        minVersion === 'TLSv1'
          ? 'The device speaks no TLS version OpenSSL still offers; update its firmware or let it send without TLS from an allowed network.'
          : `Update the device's firmware to support ${minVersion}, or set RELAY365_TLS_MIN_VERSION=TLSv1 (or TLSv1.1) so that old devices can connect.`,
    };
  }
  if (reason.includes('no shared cipher') || reason.includes('no suitable signature') || reason.includes('no cipher')) {
    return {
      detail: 'TLS handshake failed: the client and relay365 share no cipher suite',
      hint:
        minVersion === 'TLSv1' || minVersion === 'TLSv1.1'
          ? "The device's ciphers are too old even for the relaxed settings; update its firmware."
          : 'Old devices offer only old cipher suites: set RELAY365_TLS_MIN_VERSION=TLSv1, which also allows them, or update the firmware.',
    };
  }
  if (reason.includes('wrong version number') || reason.includes('http request') || reason.includes('unknown protocol')) {
    return {
      detail: 'TLS handshake failed: the client did not start TLS (it sent plain text to a TLS port)',
      hint: "Set the device to SSL/TLS (implicit TLS) for this port, or point it at the STARTTLS port with 'STARTTLS' or no encryption.",
    };
  }
  if (reason.includes('certificate') || reason.includes('unknown ca') || reason.includes('bad certificate')) {
    return {
      detail: "TLS handshake failed: the client does not trust relay365's certificate",
      hint: 'Give the listener a certificate the device trusts (RELAY365_TLS_CERT_FILE and RELAY365_TLS_KEY_FILE), or turn off certificate checking on the device.',
    };
  }
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT' || reason.includes('timeout')) {
    return {
      detail: 'TLS handshake failed: the client did not finish it in time',
      hint: 'A client that opens the connection and then says nothing is often not an SMTP client at all; check what connects from that address.',
    };
  }
  return {
    detail: `TLS handshake failed: ${reason}`,
    hint: `Check the device's TLS settings; relay365 accepts ${minVersion} and later (RELAY365_TLS_MIN_VERSION).`,
  };
}
