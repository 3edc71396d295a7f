/**
 * A page that explains what went wrong and what to do next.
 */
export interface ErrorPageProps {
  title: string;
  message: string;
  fix?: string | null;
  back?: { href: string; label: string };
}

export function ErrorPage({ message, fix, back }: ErrorPageProps) {
  return (
    <section class="error-page">
      <p class="lead">{message}</p>
      {fix ? <p>How to fix it: {fix}</p> : null}
      <p>
        <a href={back?.href ?? '/'}>{back?.label ?? 'Back to the panel'}</a>
      </p>
    </section>
  );
}
