/**
 * Sign-in and first-start setup forms.
 */
import { CsrfField, FieldError } from './components.js';

export interface LoginProps {
  csrf: string;
  email: string;
  next: string;
  error: string | null;
}

export function LoginPage({ csrf, email, next, error }: LoginProps) {
  return (
    <form method="post" action="/login" class="narrow">
      <CsrfField token={csrf} />
      <input type="hidden" name="next" value={next} />
      {error ? (
        <p class="form-error" role="alert">
          {error}
        </p>
      ) : null}
      <label for="email">Email</label>
      <input id="email" name="email" type="email" autocomplete="username" required value={email} />
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required />
      <button type="submit">Sign in</button>
    </form>
  );
}

export interface SetupProps {
  csrf: string;
  action: string;
  email: string;
  errors: Partial<Record<'email' | 'password' | 'confirm', string>>;
}

export function SetupPage({ csrf, action, email, errors }: SetupProps) {
  return (
    <form method="post" action={action} class="narrow">
      <CsrfField token={csrf} />
      <p>No one can sign in yet. Create the first Super Admin: this account may manage email servers and other users.</p>
      <label for="email">Email</label>
      <input id="email" name="email" type="email" autocomplete="username" required value={email} aria-describedby="email-error" />
      <FieldError id="email" message={errors.email} />
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="new-password" required aria-describedby="password-error" />
      <FieldError id="password" message={errors.password} />
      <label for="confirm">Repeat password</label>
      <input id="confirm" name="confirm" type="password" autocomplete="new-password" required aria-describedby="confirm-error" />
      <FieldError id="confirm" message={errors.confirm} />
      <button type="submit">Create Super Admin</button>
    </form>
  );
}
