import path from 'node:path';
import type { NextConfig } from 'next';

/** The repository root: the app imports the shared core (../core) and the one package.json lives there. */
const repositoryRoot = path.join(__dirname, '..');

const securityHeaders = [
  { key: 'X-Content-Type-Options', value: 'nosniff' },
  { key: 'X-Frame-Options', value: 'DENY' },
  { key: 'Referrer-Policy', value: 'strict-origin-when-cross-origin' },
  { key: 'Permissions-Policy', value: 'microphone=(self), camera=(), geolocation=(), payment=()' },
  { key: 'Cross-Origin-Opener-Policy', value: 'same-origin' },
  { key: 'Strict-Transport-Security', value: 'max-age=31536000' },
];

const nextConfig: NextConfig = {
  // The deploy bundles .next/standalone (server.js + traced node_modules) for Elastic Beanstalk.
  output: 'standalone',
  outputFileTracingRoot: repositoryRoot,
  turbopack: { root: repositoryRoot },
  // One copy of the Step Functions client for every route bundle: the clients live on globalThis (one set per
  // process), and the SDK's paginators check `client instanceof SFNClient` against their own bundle's copy, so a
  // client made by another route's copy failed with "Invalid client, expected instance of …". (Next already
  // keeps @aws-sdk/client-s3 external by default.)
  serverExternalPackages: ['@aws-sdk/client-sfn'],
  poweredByHeader: false,
  reactStrictMode: true,
  // `npm run typecheck` checks frontend/ with the rest of the project; checking again here doubles the build.
  typescript: { ignoreBuildErrors: true },
  async headers() {
    return [{ source: '/:path*', headers: securityHeaders }];
  },
};

export default nextConfig;
