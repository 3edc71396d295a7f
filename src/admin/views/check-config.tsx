/**
 * The Check Configuration box on an email server's page: the button, and
 * after a check the same five steps `relay365 doctor` prints, each marked ✓,
 * ✗ or –, with what it saw, the facts it compared and the fix under a failed step.
 */
import { checkMark, STATUS_MARKS } from '../../doctor/format.js';
import type { DoctorStep, ServerDiagnosis } from '../../doctor/report.js';
import type { EmailServer } from '../../store/servers.js';
import { CsrfField } from './components.js';

const STATUS_WORDS = { pass: 'passed', fail: 'failed', skip: 'skipped' } as const;

function StepItem({ step }: { step: DoctorStep }) {
  return (
    <li
      class={step.status === 'fail' ? 'status-error' : step.status === 'pass' ? 'status-ok' : 'muted'}
      data-step={step.id}
      data-status={step.status}
    >
      <strong>
        {STATUS_MARKS[step.status]} {step.title}
      </strong>{' '}
      ({STATUS_WORDS[step.status]}): {step.saw}
      {step.checks.length > 0 ? (
        <ul>
          {step.checks.map((check) => (
            <li>
              {checkMark(check)} {check.name}: {check.saw}
              {!check.ok && check.want ? ` (needs ${check.want})` : ''}
            </li>
          ))}
        </ul>
      ) : null}
      {step.status === 'fail' ? (
        <>
          {step.problem ? <p>What it means: {step.problem}</p> : null}
          {step.fix ? <p>How to fix it: {step.fix}</p> : null}
        </>
      ) : null}
    </li>
  );
}

/** The box; `diagnosis` is the result of a check just run, if any. */
export function CheckConfigSection({ server, csrf, diagnosis }: { server: EmailServer; csrf: string; diagnosis: ServerDiagnosis | null }) {
  const failures = diagnosis?.steps.filter((s) => s.status === 'fail').length ?? 0;
  return (
    <section class="action-box" aria-labelledby="check-heading">
      <h2 id="check-heading">Check Configuration</h2>
      <form method="post" action={`/servers/${server.id}/check`}>
        <CsrfField token={csrf} />
        <button type="submit">Check Configuration</button>
      </form>
      <p class="muted">
        {server.method === 'office365' && server.sendVia === 'graph'
          ? "Checks the data folder, the clock, the connection to Microsoft Graph and its certificate, a token, and Graph's answer for the mailbox, without sending mail."
          : 'Checks the data folder, the clock, the connection and certificate, a token and an SMTP sign-in as the mailbox, without sending mail.'}
      </p>
      {diagnosis ? (
        <div
          class={`flash ${diagnosis.ok ? 'flash-success status-ok' : 'flash-error'}`}
          role={diagnosis.ok ? 'status' : 'alert'}
          id="check-result"
        >
          <p>
            <strong>{diagnosis.ok ? 'All checks passed.' : `${failures} step${failures === 1 ? '' : 's'} failed.`}</strong>
          </p>
          <ol class="doctor-steps">
            {diagnosis.steps.map((step) => (
              <StepItem step={step} />
            ))}
          </ol>
        </div>
      ) : null}
    </section>
  );
}
