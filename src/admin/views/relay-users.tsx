/**
 * The Relay users page: the SMTP AUTH accounts of legacy apps (never a
 * password or hash), the form to add one, and the client addresses locked
 * out of SMTP AUTH after too many wrong passwords, with Unlock.
 */
import { LOCKOUT_POLICY, type Lockout } from '../../store/auth-lockouts.js';
import type { RelayUser } from '../../store/relay-users.js';
import type { EmailServer } from '../../store/servers.js';
import { CsrfField, FieldError, Time } from './components.js';
import { AllowFromField, describeAllowFrom, NoServerYet, ServerSelect } from './relay-access-fields.js';

export type RelayUserField = 'name' | 'serverId' | 'password' | 'allowFrom';

/** The add form as typed, with a message per field that did not validate. */
export interface NewRelayUserForm {
  values: { name: string; serverId: string; allowFrom: string };
  errors: Partial<Record<RelayUserField, string>>;
}

export interface RelayUserRow {
  user: RelayUser;
  serverName: string;
}

export interface RelayUsersPageProps {
  rows: RelayUserRow[];
  servers: EmailServer[];
  lockouts: Lockout[];
  canEdit: boolean;
  csrf: string;
  form: NewRelayUserForm;
}

function UserTable({ rows }: { rows: RelayUserRow[] }) {
  if (rows.length === 0) return <p>No relay users yet. Devices on an allowed network relay without one.</p>;
  return (
    <div class="table-scroll">
      <table class="list relay-users">
        <thead>
          <tr>
            <th scope="col">Username</th>
            <th scope="col">Email server</th>
            <th scope="col">Allowed From</th>
            <th scope="col">State</th>
            <th scope="col">Last used</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ user, serverName }) => (
            <tr>
              <td>
                <a href={`/relay-users/${user.id}`}>{user.name}</a>
              </td>
              <td>{serverName}</td>
              <td>{describeAllowFrom(user.allowFrom)}</td>
              <td>
                {user.disabled ? <span class="badge badge-failed">disabled</span> : <span class="badge badge-delivered">enabled</span>}
              </td>
              <td>
                <Time at={user.lastUsedAt} />
              </td>
              <td>
                <Time at={user.createdAt} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function AddForm({ servers, csrf, form }: { servers: EmailServer[]; csrf: string; form: NewRelayUserForm }) {
  const { values, errors } = form;
  return (
    <form method="post" action="/relay-users" class="narrow">
      <CsrfField token={csrf} />
      <label for="relay-name">Username</label>
      <input
        id="relay-name"
        name="name"
        required
        autocomplete="off"
        value={values.name}
        aria-invalid={errors.name ? 'true' : undefined}
        aria-describedby="relay-name-error"
      />
      <FieldError id="relay-name" message={errors.name} />
      <ServerSelect id="relay-server" servers={servers} value={values.serverId} error={errors.serverId} />
      <label for="relay-password">Password</label>
      <input
        id="relay-password"
        name="password"
        type="password"
        autocomplete="new-password"
        aria-invalid={errors.password ? 'true' : undefined}
        aria-describedby="relay-password-error relay-password-help"
      />
      <p class="help" id="relay-password-help">
        Leave empty to generate one; a generated password is shown once, after adding.
      </p>
      <FieldError id="relay-password" message={errors.password} />
      <AllowFromField id="relay-allow-from" value={values.allowFrom} error={errors.allowFrom} />
      <button type="submit">Add relay user</button>
    </form>
  );
}

function Lockouts({ lockouts, canEdit, csrf }: { lockouts: Lockout[]; canEdit: boolean; csrf: string }) {
  return (
    <section aria-labelledby="lockouts-heading">
      <h2 id="lockouts-heading">Lockouts</h2>
      <p class="muted">
        A client address that gives a wrong password {LOCKOUT_POLICY.maxFailures} times within {LOCKOUT_POLICY.windowMs / 60_000} minutes
        may not try SMTP AUTH for {LOCKOUT_POLICY.firstLockMs / 60_000} minutes; each new lockout within a day lasts twice as long. Unlock
        an address once its device has the right password.
      </p>
      {lockouts.length === 0 ? (
        <p>No client address is locked out.</p>
      ) : (
        <div class="table-scroll">
          <table class="list lockouts">
            <thead>
              <tr>
                <th scope="col">Client address</th>
                <th scope="col">Locked since</th>
                <th scope="col">Until</th>
                <th scope="col">Strikes</th>
                <th scope="col">Last username tried</th>
                {canEdit ? <th scope="col">Unlock</th> : null}
              </tr>
            </thead>
            <tbody>
              {lockouts.map((l) => (
                <tr>
                  <td>{l.address}</td>
                  <td>
                    <Time at={l.lockedAt} />
                  </td>
                  <td>
                    <Time at={l.lockedUntil} />
                  </td>
                  <td>{l.strikes}</td>
                  <td>{l.lastUsername ?? ''}</td>
                  {canEdit ? (
                    <td>
                      <form method="post" action="/relay-users/lockouts/unlock" class="inline" aria-label={`Unlock ${l.address}`}>
                        <CsrfField token={csrf} />
                        <input type="hidden" name="address" value={l.address} />
                        <button type="submit">Unlock</button>
                      </form>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export function RelayUsersPage({ rows, servers, lockouts, canEdit, csrf, form }: RelayUsersPageProps) {
  return (
    <>
      <p class="lead">
        Legacy apps and devices log in with a relay user (SMTP AUTH PLAIN or LOGIN) to hand mail to relay365; each user's mail goes to its
        email server.
      </p>
      <UserTable rows={rows} />
      {canEdit ? (
        <section aria-labelledby="add-heading">
          <h2 id="add-heading">Add a relay user</h2>
          {servers.length === 0 ? <NoServerYet canEdit /> : <AddForm servers={servers} csrf={csrf} form={form} />}
        </section>
      ) : null}
      <Lockouts lockouts={lockouts} canEdit={canEdit} csrf={csrf} />
    </>
  );
}
