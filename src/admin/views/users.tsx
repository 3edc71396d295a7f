/**
 * The Users page (Super Admin only): who can sign in, with the two
 * permissions, and a form to add a user.
 */
import type { User } from '../../store/users.js';
import { PERMISSION_LABELS } from '../permissions.js';
import { CsrfField, FieldError } from './components.js';
import { ListTable, type Column } from './list-table.js';

export interface NewUserForm {
  values: { email: string; updateSettings: boolean; superAdmin: boolean };
  errors: Partial<Record<'email' | 'password', string>>;
}

export interface UsersPageProps {
  users: User[];
  me: User;
  csrf: string;
  form: NewUserForm;
}

function PermissionBoxes({ prefix, updateSettings, superAdmin }: { prefix: string; updateSettings: boolean; superAdmin: boolean }) {
  return (
    <>
      <label class="choice">
        <input type="checkbox" name="updateSettings" value="1" checked={updateSettings} id={`${prefix}-update`} />{' '}
        {PERMISSION_LABELS.updateSettings}
      </label>
      <label class="choice">
        <input type="checkbox" name="superAdmin" value="1" checked={superAdmin} id={`${prefix}-super`} /> {PERMISSION_LABELS.superAdmin}
      </label>
    </>
  );
}

/** Each user's permissions (and a new password) are saved by the row's own form; nobody removes themself. */
function userColumns(me: User, csrf: string): Column<User>[] {
  return [
    { header: 'Email', cell: (u) => u.email },
    {
      header: 'Permissions',
      cell: (u) => (
        <form method="post" action={`/users/${u.id}`} class="inline-form" aria-label={`Permissions of ${u.email}`}>
          <CsrfField token={csrf} />
          <PermissionBoxes prefix={`user-${u.id}`} updateSettings={u.canUpdateSettings} superAdmin={u.isSuperAdmin} />
          {u.id === me.id ? (
            <a href="/account">Change your password</a>
          ) : (
            <label class="choice">
              New password <input type="password" name="password" autocomplete="new-password" />
            </label>
          )}
          <button type="submit">Save</button>
        </form>
      ),
    },
    {
      header: 'Remove',
      cell: (u) =>
        u.id === me.id ? (
          <span class="muted">you</span>
        ) : (
          <form method="post" action={`/users/${u.id}/delete`} class="inline" data-confirm={`Remove ${u.email}?`}>
            <CsrfField token={csrf} />
            <button type="submit" class="danger">
              Remove
            </button>
          </form>
        ),
    },
  ];
}

export function UsersPage({ users, me, csrf, form }: UsersPageProps) {
  return (
    <>
      <ListTable columns={userColumns(me, csrf)} rows={users} />
      <h2>Add a user</h2>
      <form method="post" action="/users" class="narrow">
        <CsrfField token={csrf} />
        <label for="new-email">Email</label>
        <input id="new-email" name="email" type="email" required value={form.values.email} aria-describedby="new-email-error" />
        <FieldError id="new-email" message={form.errors.email} />
        <label for="new-password">Password</label>
        <input
          id="new-password"
          name="password"
          type="password"
          autocomplete="new-password"
          required
          aria-describedby="new-password-error"
        />
        <FieldError id="new-password" message={form.errors.password} />
        <PermissionBoxes prefix="new" updateSettings={form.values.updateSettings} superAdmin={form.values.superAdmin} />
        <p class="muted">Without a permission the user can look at everything but change nothing.</p>
        <button type="submit">Add user</button>
      </form>
    </>
  );
}
