/**
 * Command lines of the scripts, the benches and the CLI, read by Node's util.parseArgs in strict mode, with
 * one wording for the three mistakes it finds: an unknown option, an option without its value, and an
 * argument where none is taken. Each command wraps the sentence in its own usage error.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs' error → "unknown argument --push", "--stage needs a value", "unexpected argument b.pth". */
export function argumentProblem(error: unknown): string {
  const { code, message } = error as { code?: string; message: string };
  const named = /'([^'\s]+)/.exec(message)?.[1] ?? '';
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown argument ${named}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return `${named} needs a value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${named}`;
    default:
      return message;
  }
}

/** util.parseArgs, strict; a mistake becomes `usageError(sentence)`. */
export function parseCommandLine<const O extends Options>(
  argv: readonly string[],
  options: O,
  usageError: (problem: string) => Error,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals });
  } catch (error) {
    throw usageError(argumentProblem(error));
  }
}
