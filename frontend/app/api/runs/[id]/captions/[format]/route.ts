import { toSrt, toWebVtt, toWebVttChapters } from '#core/subtitles';
import { handle, NotFound } from '../../../../../../lib/server/http.ts';
import { finishedResult } from '../../../../../../lib/server/runs.ts';
import { songBaseName } from '../../../../../../lib/words.ts';

const FORMATS = {
  json: { type: 'application/json; charset=utf-8', extension: 'json' },
  srt: { type: 'application/x-subrip; charset=utf-8', extension: 'srt' },
  vtt: { type: 'text/vtt; charset=utf-8', extension: 'vtt' },
  chapters: { type: 'text/vtt; charset=utf-8', extension: 'chapters.vtt' },
} as const;

/** RFC 6266: an ASCII fallback name plus the UTF-8 name (RFC 5987), so "Café.mp3" downloads as "Café.srt". */
function attachment(fileName: string): string {
  const ascii = fileName.normalize('NFKD').replace(/[^\x20-\x7e]/g, '').replace(/["\\%]/g, '') || 'song';
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}

/**
 * GET json | srt | vtt | chapters → the captions (or the sections as WebVTT chapters) as a file named after
 * the song; the WebVTT and the chapters are also the player's <track>s.
 */
export async function GET(request: Request, { params }: { params: Promise<{ id: string; format: string }> }) {
  return handle(request, async () => {
    const { id, format } = await params;
    if (!(format in FORMATS)) throw new NotFound(`Captions come as json, srt, vtt or chapters, not “${format}”.`);
    const { type, extension } = FORMATS[format as keyof typeof FORMATS];
    const result = await finishedResult(id);
    if (format !== 'json' && result.status !== 'SUCCEEDED') throw new NotFound(`Run “${id}” failed: it has no captions.`);
    let body = JSON.stringify(result, null, 2);
    if (result.status === 'SUCCEEDED') {
      if (format === 'srt') body = toSrt(result);
      else if (format === 'vtt') body = toWebVtt(result);
      else if (format === 'chapters') body = toWebVttChapters(result);
    }
    const name = result.status === 'SUCCEEDED' ? songBaseName(result.file.name) : id;
    return new Response(body, {
      headers: {
        'Content-Type': type,
        'Content-Disposition': attachment(`${name}.${extension}`),
        'Cache-Control': 'private, max-age=300',
      },
    });
  });
}
