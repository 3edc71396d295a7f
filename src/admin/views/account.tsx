/**
 * The Account page: the signed-in user's email and permissions, and the form
 * that changes their own password.
 */
import type { User } from '../../store/users.js';
import { MIN_PASSWORD_LENGTH } from '../../auth/passwords.js';
import { can, PERMISSION_LABELS } from '../permissions.js';
import { CsrfField, FieldError } from './components.js';

export type PasswordChangeErrors = Partial<Record<'current' | 'password' | 'confirm', string>>;

export interface AccountPageProps {
  user: User;
  csrf: string;
  errors: PasswordChangeErrors;
}

export function AccountPage({ user, csrf, errors }: AccountPageProps) {
  const permissions = (['superAdmin', 'updateSettings'] as const).filter((p) => can(user, p)).map((p) => PERMISSION_LABELS[p]);
  return (
    <>
      <p>
        Signed in as <strong>{user.email}</strong>.{' '}
        {permissions.length ? `Permissions: ${permissions.join(', ')}.` : 'You can look at everything but change nothing.'}
      </p>
      <h2>Change your password</h2>
      <form method="post" action="/account/password" class="narrow">
        <CsrfField token={csrf} />
        <input type="hidden" name="username" autocomplete="username" value={user.email} />
        <label for="current">Current password</label>
        <input id="current" name="current" type="password" autocomplete="current-password" required aria-describedby="current-error" />
        <FieldError id="current" message={errors.current} />
        <label for="password">New password</label>
        <input
          id="password"
          name="password"
          type="password"
          autocomplete="new-password"
          required
          minlength={MIN_PASSWORD_LENGTH}
          aria-describedby="password-error password-help"
        />
        <p class="help" id="password-help">
          At least {MIN_PASSWORD_LENGTH} characters.
        </p>
        <FieldError id="password" message={errors.password} />
        <label for="confirm">Repeat the new password</label>
        <input id="confirm" name="confirm" type="password" autocomplete="new-password" required aria-describedby="confirm-error" />
        <FieldError id="confirm" message={errors.confirm} />
        <p class="muted">Your other signed-in browsers are signed out; this one stays signed in. API tokens keep working.</p>
        <button type="submit">Change password</button>
      </form>
    </>
  );
}
