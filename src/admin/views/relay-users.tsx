/**
 * The Relay users page: the SMTP AUTH accounts of legacy apps (never a
 * password or hash), the form to add one, and the client addresses locked
 * out of SMTP AUTH after too many wrong passwords, with Unlock.
 */
import { LOCKOUT_POLICY, type Lockout } from '../../store/auth-lockouts.js';
import type { RelayUser } from '../../store/relay-users.js';
import type { EmailServer } from '../../store/servers.js';
import { CsrfField, FieldError, Time } from './components.js';
import { ListTable, type Column } from './list-table.js';
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

const USER_COLUMNS: readonly Column<RelayUserRow>[] = [
  { header: 'Username', cell: ({ user }) => <a href={`/relay-users/${user.id}`}>{user.name}</a> },
  { header: 'Email server', cell: ({ serverName }) => serverName },
  { header: 'Allowed From', cell: ({ user }) => describeAllowFrom(user.allowFrom) },
  {
    header: 'State',
    cell: ({ user }) =>
      user.disabled ? <span class="badge badge-failed">disabled</span> : <span class="badge badge-delivered">enabled</span>,
  },
  { header: 'Last used', cell: ({ user }) => <Time at={user.lastUsedAt} /> },
  { header: 'Created', cell: ({ user }) => <Time at={user.createdAt} /> },
];

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

/** The lockout table's columns; Unlock only for those who may change settings. */
function lockoutColumns(canEdit: boolean, csrf: string): (Column<Lockout> | false)[] {
  return [
    { header: 'Client address', cell: (l) => l.address },
    { header: 'Locked since', cell: (l) => <Time at={l.lockedAt} /> },
    { header: 'Until', cell: (l) => <Time at={l.lockedUntil} /> },
    { header: 'Strikes', cell: (l) => l.strikes },
    { header: 'Last username tried', cell: (l) => l.lastUsername ?? '' },
    canEdit && {
      header: 'Unlock',
      cell: (l) => (
        <form method="post" action="/relay-users/lockouts/unlock" class="inline" aria-label={`Unlock ${l.address}`}>
          <CsrfField token={csrf} />
          <input type="hidden" name="address" value={l.address} />
          <button type="submit">Unlock</button>
        </form>
      ),
    },
  ];
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
      <ListTable
        class="lockouts"
        columns={lockoutColumns(canEdit, csrf)}
        rows={lockouts}
        empty={<p>No client address is locked out.</p>}
        scroll
      />
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
      <ListTable
        class="relay-users"
        columns={USER_COLUMNS}
        rows={rows}
        empty={<p>No relay users yet. Devices on an allowed network relay without one.</p>}
        scroll
      />
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
