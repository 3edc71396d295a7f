/**
 * The doctor's report as text for a terminal: per email server one line per
 * step with ✓ (passed), ✗ (failed) or – (skipped), the facts it compared
 * beneath (⚠ for one that passed with a warning), and the problem and fix
 * under a failed step.
 */
import type { Check, DoctorReport, DoctorStep } from './report.js';

export const STATUS_MARKS = { pass: '✓', fail: '✗', skip: '–' } as const;
/** The mark of a check that passed with a warning. */
export const WARNING_MARK = '⚠';

/** ✓, ✗, or ⚠ for a check that passed with a warning. */
export function checkMark(check: Check): string {
  if (!check.ok) return STATUS_MARKS.fail;
  return check.warn ? WARNING_MARK : STATUS_MARKS.pass;
}

function stepLines(step: DoctorStep, index: number): string[] {
  const lines = [`  ${STATUS_MARKS[step.status]} ${index + 1}. ${step.title}: ${step.saw}`];
  for (const check of step.checks) {
    lines.push(`       ${checkMark(check)} ${check.name}: ${check.saw}${!check.ok && check.want ? ` (needs ${check.want})` : ''}`);
  }
  if (step.status === 'fail') {
    if (step.problem) lines.push(`     Problem: ${step.problem}`);
    if (step.fix) lines.push(`     Fix: ${step.fix}`);
  }
  return lines;
}

/** The report as lines of text. */
export function formatReport(report: DoctorReport): string[] {
  if (report.servers.length === 0) return ['no email servers to check; add one with relay365 server add --name NAME ...'];
  const lines: string[] = [];
  for (const { server, steps, ok } of report.servers) {
    if (lines.length > 0) lines.push('');
    const via =
      server.sendVia === 'graph' && server.method === 'office365'
        ? `via Microsoft Graph, ${server.graphEndpoint ?? 'no Graph Endpoint'}`
        : `${server.host}:${server.port}, ${server.secure}`;
    lines.push(`Email server ${server.name} (${server.method}, ${via})`);
    steps.forEach((step, i) => lines.push(...stepLines(step, i)));
    const failures = steps.filter((s) => s.status === 'fail').length;
    lines.push(ok ? '  All checks passed.' : `  ${failures} step${failures === 1 ? '' : 's'} failed.`);
  }
  return lines;
}
