/**
 * The SMTP listener section of the Networks page: where relay365 listens, its
 * TLS certificate (the fingerprint to compare with what a device shows), and
 * warnings for settings that weaken it for the sake of old devices.
 */
import type { ListenerInfo } from '../env.js';
import { Time } from './components.js';

/** The certificate's end as the other times (OpenSSL's `Jan  1 00:00:00 2035 GMT` as given when it cannot be read). */
function ValidUntil({ validTo }: { validTo: string }) {
  const at = Date.parse(validTo);
  return Number.isNaN(at) ? <>{validTo}</> : <Time at={at} />;
}

/** TLS versions older than this are accepted only for old devices (RELAY365_TLS_MIN_VERSION). */
const OLD_TLS = new Set(['TLSv1', 'TLSv1.1']);

function Warnings({ info }: { info: ListenerInfo }) {
  return (
    <>
      {info.certificate.generated ? (
        <p class="notice">
          relay365 generated this self-signed certificate itself. Devices that verify certificates refuse it: give relay365 a real one with
          RELAY365_TLS_CERT_FILE and RELAY365_TLS_KEY_FILE. A device that does not verify can still use STARTTLS; compare the fingerprint if
          it shows one.
        </p>
      ) : null}
      {info.allowPlaintextAuth ? (
        <p class="warning" role="alert">
          <strong>Plain-text login allowed.</strong> RELAY365_ALLOW_PLAINTEXT_AUTH is on: devices may log in before STARTTLS, so their
          passwords cross the network in clear text. Turn it off once every device speaks STARTTLS.
        </p>
      ) : null}
      {OLD_TLS.has(info.tlsMinVersion) ? (
        <p class="warning" role="alert">
          <strong>Old TLS accepted.</strong> RELAY365_TLS_MIN_VERSION is {info.tlsMinVersion}: versions below TLSv1.2 are accepted for old
          devices, and they no longer protect the connection well. Raise it once those devices are replaced.
        </p>
      ) : null}
    </>
  );
}

export function ListenerSection({ info }: { info: ListenerInfo | null }) {
  return (
    <section aria-labelledby="listener-heading">
      <h2 id="listener-heading">SMTP listener</h2>
      {info ? (
        <>
          <dl class="facts listener">
            <dt>SMTP (STARTTLS)</dt>
            <dd>{info.smtp}</dd>
            <dt>SMTPS (implicit TLS)</dt>
            <dd>{info.smtps ?? 'off (set RELAY365_SMTPS_LISTEN to use it)'}</dd>
            <dt>Certificate</dt>
            <dd>{info.certificate.subject}</dd>
            <dt>SHA-256 fingerprint</dt>
            <dd class="fingerprint">{info.certificate.fingerprint256}</dd>
            <dt>Valid until</dt>
            <dd>
              <ValidUntil validTo={info.certificate.validTo} />
            </dd>
            <dt>Lowest TLS version</dt>
            <dd>{info.tlsMinVersion}</dd>
            <dt>Login before STARTTLS</dt>
            <dd>{info.allowPlaintextAuth ? 'allowed' : 'refused'}</dd>
            <dt>Connections per client</dt>
            <dd>at most {info.maxConnectionsPerClient} at a time (an IPv6 client counts per /64)</dd>
            <dt>Connections in all</dt>
            <dd>at most {info.maxConnections}; clients outside the allowed networks that have not logged in share four fifths of them</dd>
            <dt>PROXY protocol</dt>
            <dd>{info.proxyProtocol ? 'expected from RELAY365_TRUSTED_PROXIES' : 'off'}</dd>
          </dl>
          <Warnings info={info} />
        </>
      ) : (
        <p class="muted">The SMTP listener has not started yet. Reload this page once relay365 runs.</p>
      )}
    </section>
  );
}
