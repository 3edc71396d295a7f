/**
 * One relay user: its new password right after it was made (shown once, with
 * a copy button), the SMTP settings a device needs, and for editors the
 * forms to change its email server and allowed From, reset its password,
 * disable or enable it, and remove it.
 */
import type { DeviceSettings as Settings } from '../../relay/device-settings.js';
import type { RelayUser } from '../../store/relay-users.js';
import type { EmailServer } from '../../store/servers.js';
import { CsrfField, Time } from './components.js';
import { DeviceSettings } from './device-settings.js';
import { AllowFromField, describeAllowFrom, ServerSelect } from './relay-access-fields.js';

/** The settings form as typed, with a message per field that did not validate. */
export interface RelayUserSettingsForm {
  values: { serverId: string; allowFrom: string };
  errors: Partial<Record<'serverId' | 'allowFrom', string>>;
}

export interface RelayUserPageProps {
  user: RelayUser;
  serverName: string;
  servers: EmailServer[];
  /** The password made by the request before this page, or null (never on a reload). */
  password: string | null;
  /** What a device enters to log in as this user. */
  device: Settings;
  canEdit: boolean;
  csrf: string;
  form: RelayUserSettingsForm;
}

function OneTimePassword({ user, password }: { user: RelayUser; password: string }) {
  return (
    <section class="one-time" aria-labelledby="password-heading">
      <h2 id="password-heading">New password for {user.name}</h2>
      <p>
        <strong>Shown only this once.</strong> Enter it in the device now, or keep it in a password manager: relay365 stores only a hash and
        cannot show it again.
      </p>
      <p class="copy-row">
        <input id="one-time-password" class="copy-source" readonly value={password} aria-label={`Password of ${user.name}`} />{' '}
        <button type="button" class="copy" data-copy="one-time-password" hidden>
          Copy
        </button>
      </p>
    </section>
  );
}

function Facts({ user, serverName }: { user: RelayUser; serverName: string }) {
  return (
    <dl class="facts">
      <dt>Username</dt>
      <dd>{user.name}</dd>
      <dt>Email server</dt>
      <dd>
        <a href={`/servers/${user.serverId}`}>{serverName}</a>
      </dd>
      <dt>Allowed From</dt>
      <dd>{describeAllowFrom(user.allowFrom)}</dd>
      <dt>State</dt>
      <dd>{user.disabled ? 'disabled: its logins are refused' : 'enabled'}</dd>
      <dt>Last used</dt>
      <dd>
        <Time at={user.lastUsedAt} />
      </dd>
      <dt>Created</dt>
      <dd>
        <Time at={user.createdAt} />
      </dd>
    </dl>
  );
}

function EditForms({ user, servers, csrf, form }: Pick<RelayUserPageProps, 'user' | 'servers' | 'csrf' | 'form'>) {
  const base = `/relay-users/${user.id}`;
  return (
    <>
      <section aria-labelledby="change-heading">
        <h2 id="change-heading">Change</h2>
        <form method="post" action={base} class="narrow">
          <CsrfField token={csrf} />
          <ServerSelect id="user-server" servers={servers} value={form.values.serverId} error={form.errors.serverId} />
          <AllowFromField id="user-allow-from" value={form.values.allowFrom} error={form.errors.allowFrom} />
          <button type="submit">Save</button>
        </form>
      </section>
      <section aria-labelledby="manage-heading">
        <h2 id="manage-heading">Password and access</h2>
        <div class="buttons">
          <form
            method="post"
            action={`${base}/password`}
            class="inline"
            data-confirm={`Generate a new password for ${user.name}? The old one stops working at once.`}
          >
            <CsrfField token={csrf} />
            <button type="submit">Reset password</button>
          </form>
          <form method="post" action={`${base}/${user.disabled ? 'enable' : 'disable'}`} class="inline">
            <CsrfField token={csrf} />
            <button type="submit">{user.disabled ? 'Enable' : 'Disable'}</button>
          </form>
          <form
            method="post"
            action={`${base}/delete`}
            class="inline"
            data-confirm={`Remove relay user ${user.name}? Devices that log in with it can no longer send.`}
          >
            <CsrfField token={csrf} />
            <button type="submit" class="danger">
              Remove
            </button>
          </form>
        </div>
      </section>
    </>
  );
}

export function RelayUserPage(props: RelayUserPageProps) {
  const { user, serverName, password, device, canEdit } = props;
  return (
    <>
      {password !== null ? <OneTimePassword user={user} password={password} /> : null}
      <Facts user={user} serverName={serverName} />
      <section aria-labelledby="device-heading">
        <h2 id="device-heading">Device settings</h2>
        <DeviceSettings settings={device} />
      </section>
      {canEdit ? <EditForms {...props} /> : null}
      <p>
        <a href="/relay-users">All relay users</a>
      </p>
    </>
  );
}
