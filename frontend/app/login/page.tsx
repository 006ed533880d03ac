import type { Metadata } from 'next';

export const metadata: Metadata = { title: 'Access token' };

type Props = { searchParams: Promise<{ next?: string; wrong?: string }> };

export default async function LoginPage({ searchParams }: Props) {
  const { next = '/', wrong } = await searchParams;
  return (
    <section className="section narrow">
      <h1>This site needs its access token</h1>
      <p className="lede">Ask the person who runs it. You will only be asked once on this browser.</p>
      <form className="card form" method="post" action="/api/session">
        <input type="hidden" name="next" value={next} />
        <label htmlFor="token">Access token</label>
        <input id="token" name="token" type="password" autoComplete="current-password" required autoFocus aria-describedby="token-error" />
        <p id="token-error" className="form__error" role="alert">
          {wrong ? 'That token is not the right one.' : ''}
        </p>
        <button className="button button--primary" type="submit">
          Continue
        </button>
      </form>
    </section>
  );
}
