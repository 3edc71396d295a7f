/**
 * The Users page (Super Admin only): add users, grant or take back
 * `Settings: Update Settings` and `Make this user a Super Admin`, set a new
 * password (which signs that user out everywhere), remove a user. The last
 * Super Admin cannot be demoted or removed. Your own password changes on the
 * Account page, which asks for the current one.
 */
import { Hono, type Context } from 'hono';
import type { Logger } from '../../log.js';
import type { StoreSlice } from '../../store/index.js';
import { unlessTaken } from '../../store/unique-violation.js';
import { addUser, checkEmail, checkPassword } from '../accounts.js';
import type { AdminEnv } from '../env.js';
import { setFlash } from '../flash.js';
import { requirePermission } from '../middleware/require-permission.js';
import { hashPassword } from '../../auth/passwords.js';
import { formText } from '../form-text.js';
import { ErrorPage } from '../views/error-page.js';
import { UsersPage, type NewUserForm } from '../views/users.js';

export interface UserRouteOptions {
  store: StoreSlice<{
    users: 'add' | 'countSuperAdmins' | 'findByEmail' | 'get' | 'list' | 'remove' | 'setPassword' | 'update';
    sessions: 'setFlash';
  }>;
  log: Logger;
}

const EMAIL_TAKEN = 'A user with this email exists already.';
const EMPTY_FORM: NewUserForm = { values: { email: '', updateSettings: true, superAdmin: false }, errors: {} };

/** Routes under /users. */
export function userRoutes({ store, log }: UserRouteOptions): Hono<AdminEnv> {
  const app = new Hono<AdminEnv>();
  app.use('*', requirePermission('superAdmin'));

  const page = async (c: Context<AdminEnv>, form: NewUserForm, status: 200 | 422 = 200) => {
    const users = await store.users.list();
    return c.render(<UsersPage users={users} me={c.var.user!} csrf={c.var.csrfToken} form={form} />, { title: 'Users', status });
  };
  const refuse = (c: Context<AdminEnv>, message: string) =>
    c.render(<ErrorPage title="Not possible" message={message} back={{ href: '/users', label: 'Users' }} />, {
      title: 'Not possible',
      status: 409,
    });
  const target = (c: Context<AdminEnv>) => store.users.get(Number(c.req.param('id')));

  app.get('/', (c) => page(c, EMPTY_FORM));

  app.post('/', async (c) => {
    const body = await c.req.parseBody();
    const email = formText(body, 'email');
    const password = typeof body['password'] === 'string' ? body['password'] : '';
    const form: NewUserForm = {
      values: { email, updateSettings: body['updateSettings'] === '1', superAdmin: body['superAdmin'] === '1' },
      errors: { email: checkEmail(email), password: checkPassword(password) },
    };
    if (!form.errors.email && (await store.users.findByEmail(email))) form.errors.email = EMAIL_TAKEN;
    if (form.errors.email || form.errors.password) return page(c, form, 422);
    const user = await unlessTaken(
      addUser(store, { email, password, isSuperAdmin: form.values.superAdmin, canUpdateSettings: form.values.updateSettings }),
    );
    if (!user) return page(c, { ...form, errors: { email: EMAIL_TAKEN } }, 422);
    log.info('admin user added', { email: user.email, by: c.var.user?.email });
    await setFlash(c, store, { kind: 'success', message: `Added ${user.email}.` });
    return c.redirect('/users', 303);
  });

  app.post('/:id{[0-9]+}', async (c) => {
    const user = await target(c);
    if (!user) return refuse(c, 'There is no such user.');
    const body = await c.req.parseBody();
    const superAdmin = body['superAdmin'] === '1';
    const password = typeof body['password'] === 'string' ? body['password'] : '';
    if (user.isSuperAdmin && !superAdmin && (await store.users.countSuperAdmins()) === 1) {
      return refuse(c, 'This is the last Super Admin. Make another user a Super Admin first.');
    }
    if (password && user.id === c.var.user?.id) {
      return refuse(c, 'Change your own password on the Account page: it asks for your current password.');
    }
    const problem = password ? checkPassword(password) : undefined;
    if (problem) return refuse(c, `The new password is not accepted: ${problem}`);
    const passwordHash = password ? await hashPassword(password) : null;
    await store.users.update(user.id, { isSuperAdmin: superAdmin, canUpdateSettings: body['updateSettings'] === '1' });
    // A password set by a Super Admin signs the user out everywhere; API tokens belong to no user and stay.
    const sessionsEnded = passwordHash === null ? 0 : await store.users.setPassword(user.id, passwordHash, null);
    log.info('admin user changed', { email: user.email, passwordChanged: passwordHash !== null, sessionsEnded, by: c.var.user?.email });
    await setFlash(c, store, { kind: 'success', message: `Saved ${user.email}.` });
    return c.redirect('/users', 303);
  });

  app.post('/:id{[0-9]+}/delete', async (c) => {
    const user = await target(c);
    if (!user) return refuse(c, 'There is no such user.');
    if (user.id === c.var.user?.id) return refuse(c, 'You cannot remove yourself.');
    await store.users.remove(user.id);
    log.info('admin user removed', { email: user.email, by: c.var.user?.email });
    await setFlash(c, store, { kind: 'success', message: `Removed ${user.email}.` });
    return c.redirect('/users', 303);
  });

  return app;
}
