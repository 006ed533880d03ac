import Link from 'next/link';

export default function NotFoundPage() {
  return (
    <section className="section narrow">
      <h1>Nothing here</h1>
      <p className="lede">There is no run at this address. Its upload may not have finished, or the link is incomplete.</p>
      <p>
        <Link className="button button--primary" href="/">
          Upload a song
        </Link>
      </p>
    </section>
  );
}
