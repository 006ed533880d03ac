import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { NotFound } from '../../../lib/server/http.ts';
import { ensurePageAccess } from '../../../lib/server/page-access.ts';
import { runStatus } from '../../../lib/server/runs.ts';
import { RunView } from '../../_components/RunView.tsx';

type Props = { params: Promise<{ id: string }> };

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  return { title: `Run ${(await params).id}` };
}

export default async function RunPage({ params }: Props) {
  const { id } = await params;
  await ensurePageAccess(`/runs/${id}`);
  try {
    return <RunView initial={await runStatus(id)} />;
  } catch (error) {
    if (error instanceof NotFound) notFound();
    throw error;
  }
}
