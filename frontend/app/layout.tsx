import type { Metadata, Viewport } from 'next';
import Link from 'next/link';
import { connection } from 'next/server';
import './globals.css';

export const metadata: Metadata = {
  title: { default: 'Music Captioner', template: '%s · Music Captioner' },
  description: 'Upload a song and read what happens in it, ten seconds at a time.',
};

export const viewport: Viewport = {
  width: 'device-width',
  initialScale: 1,
  themeColor: [
    { media: '(prefers-color-scheme: light)', color: '#f6f6f3' },
    { media: '(prefers-color-scheme: dark)', color: '#15161a' },
  ],
};

export default async function RootLayout({ children }: { children: React.ReactNode }) {
  // Every page renders per request, so each one carries the proxy's fresh CSP nonce on its scripts.
  await connection();
  return (
    <html lang="en">
      <body>
        <a className="skip-link" href="#main">
          Skip to content
        </a>
        <header className="site-header">
          <div className="container site-header__inner">
            <Link href="/" className="brand">
              <span className="brand__mark" aria-hidden="true">
                <svg viewBox="0 0 24 24" width="22" height="22">
                  <path d="M4 14v-4M8 18V6M12 15V9M16 20V4M20 13v-2" stroke="currentColor" strokeWidth="2.2" strokeLinecap="round" fill="none" />
                </svg>
              </span>
              Music Captioner
            </Link>
            <nav aria-label="Main">
              <Link href="/#recent">Recent runs</Link>
            </nav>
          </div>
        </header>
        <main id="main" className="container">
          {children}
        </main>
        <footer className="site-footer container">
          Every song is read ten seconds at a time: a caption per window, measurements from the audio itself.
        </footer>
      </body>
    </html>
  );
}
