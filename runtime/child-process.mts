/**
 * What the runtime's helper processes (the embedded S3, each queue slot's Preprocess) share: started with `fork`,
 * their options as the one argument, talking to the parent over IPC. Plain Node runs it (type stripping).
 *
 * Each ignores SIGINT and SIGTERM (a Ctrl-C reaches the whole process group, and the runtime stops them itself,
 * still reading and writing while it stops) and ends when its parent does (the IPC channel closes).
 */
export function childOfRuntime<Options>(): { options: Options; send: (message: unknown) => void } {
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => undefined);
  process.on('disconnect', () => process.exit(0));
  return {
    options: JSON.parse(process.argv[2] ?? '{}') as Options,
    // A parent that has gone is no error: the 'disconnect' above ends this process.
    send: (message) => {
      if (process.connected) process.send?.(message);
    },
  };
}
