'use client';

export default function ErrorPage({ reset }: { error: Error; reset: () => void }) {
  return (
    <section className="section narrow">
      <h1>Something went wrong</h1>
      <p className="lede">The server could not load this page. It may be a passing problem.</p>
      <p>
        <button type="button" className="button button--primary" onClick={reset}>
          Try again
        </button>
      </p>
    </section>
  );
}
