/**
 * How this process reads what ffmpeg writes: a connected pair of local stream sockets per output, one end handed
 * to ffmpeg as its stdout or fd 3, the other read here into one buffer that is reused for every read (net.Socket's
 * `onread`).
 *
 * Why not the pipes `spawn` makes: a pipe's stream gives every read a Buffer of its own. ffmpeg writes 32 KB at a
 * time, so the file's own channels (44.1 kHz stereo, 16-bit: 31 MB per 3 minutes) arrive as ~950 Buffers, all
 * garbage a moment later, each with a trip through the stream machinery. Read into one buffer through a socket,
 * the same bytes cost this thread 23–33 ms of CPU instead of 57–66 ms (3-minute file, this 2-core machine), with
 * nothing left for the GC; the socket's larger kernel buffer also leaves ffmpeg blocked less often than a 64 KB pipe.
 */
import { randomUUID } from 'node:crypto';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface OutputSocket {
  /** The end ffmpeg writes to: pass it in spawn's `stdio`, then `destroy()` this process's copy. */
  childEnd: Socket;
  /** The end read here. `onBytes` sees each read; the bytes are valid only during the call. */
  reader: Socket;
}

/** Bytes one read may bring: several of ffmpeg's 32 KB writes when this thread was busy. */
export const READ_BUFFER_BYTES = 256 * 1024;

/**
 * Opens one output's socket pair. `onBytes` gets each read's bytes (valid only during the call: the buffer is
 * reused); returning false pauses the socket until `reader.resume()`, and ffmpeg waits meanwhile.
 */
export async function openOutputSocket(onBytes: (bytes: Buffer) => boolean): Promise<OutputSocket> {
  // Linux's abstract namespace leaves no file behind; elsewhere a path in the temporary folder, removed on close.
  const address = process.platform === 'linux' ? `\0music-captioner-ffmpeg-${randomUUID()}` : path.join(tmpdir(), `ffmpeg-${randomUUID()}.sock`);
  const server = createServer({ pauseOnConnect: true });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address, () => resolve());
    });
    const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    const reader = connect({ path: address, onread: { buffer, callback: (length: number) => onBytes(buffer.subarray(0, length)) } });
    try {
      const childEnd = await Promise.race([
        accepted,
        new Promise<never>((_, reject) => reader.once('error', reject)),
      ]);
      return { childEnd, reader };
    } catch (error) {
      reader.destroy();
      throw error;
    }
  } finally {
    server.close();
  }
}
