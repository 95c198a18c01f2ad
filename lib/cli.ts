// What every command-line tool of the project shares: argv through `node:util` parseArgs, one
// usage mistake (UsageError), and one exit-code convention (runCli):
//   0 ok; 1 a check failed, or a known error (a MaestroError, printed as `<tool>: <message>`);
//   2 bad usage (the message, then the usage text); an unknown error prints its stack and exits 1.
// A tool whose documented codes differ (say, 2 for unreadable input) says so with `exitCode`.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { MaestroError } from "./errors";

/** Bad command-line usage: runCli prints it with the tool's usage text and exits 2. */
export class UsageError extends MaestroError<"USAGE"> {
  constructor(message: string) {
    super("USAGE", message);
  }
}

/** Input a CLI cannot work with that is not a usage mistake: a missing tool, an unreadable file. */
export class CliInputError extends MaestroError<"TOOL_MISSING" | "INPUT_UNREADABLE"> {}

export type CliOptions = NonNullable<ParseArgsConfig["options"]>;

/** Whether argv asks for help (`--help` or `-h` before a `--`). */
export function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).some((a) => a === "--help" || a === "-h");
}

/**
 * parseArgs with the project's messages: an unknown option, a missing value (none given, or the
 * next argument is another flag), a value given to a boolean flag and, unless `positionals` allows
 * them, a positional argument each throw UsageError naming the argument.
 */
export function parseCli<O extends CliOptions>(argv: readonly string[], options: O, config: { positionals?: boolean } = {}) {
  const args = [...argv];
  const { tokens } = parseArgs({ args, options, allowPositionals: true, strict: false, tokens: true });
  for (const token of tokens) {
    if (token.kind === "positional") {
      if (!config.positionals) throw new UsageError(`unexpected argument '${token.value}'`);
      continue;
    }
    if (token.kind !== "option") continue;
    const option = options[token.name];
    if (!option) throw new UsageError(`unknown option '${token.rawName}'`);
    if (option.type === "string" && (token.value === undefined || (!token.inlineValue && token.value.startsWith("-"))))
      throw new UsageError(`${token.rawName} needs a value`);
    if (option.type === "boolean" && token.inlineValue) throw new UsageError(`${token.rawName} takes no value`);
  }
  return parseArgs({ args, options, allowPositionals: true, strict: true });
}

/** The value of `flag` if it is one of `allowed`, else a UsageError naming the flag and the choices. */
export function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value))
    throw new UsageError(`${flag} must be one of ${allowed.join(", ")} (got '${value}')`);
  return value as T;
}

/** Where a CLI writes: the process's streams, or (in a test running it in-process) anything else. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

const processIo: CliIo = { out: (t) => void process.stdout.write(t), err: (t) => void process.stderr.write(t) };

export interface Cli {
  /** The name printed before every message, e.g. "policy:check". */
  tool: string;
  /** Printed on --help (stdout, exit 0) and after a UsageError (stderr, exit 2). */
  usage: string;
  /** Runs the tool on argv (help already handled); returns the exit code. */
  main: (argv: string[], io: CliIo) => number | Promise<number>;
  /** The exit code of a known error, when the tool documents one other than 1 (UsageError is always 2). */
  exitCode?: (err: MaestroError) => number | undefined;
  /** After a UsageError print only the usage's first line (tools with long usage texts). */
  shortUsage?: boolean;
}

/**
 * Runs a CLI by the one convention and returns its exit code. Without `io` it is the process:
 * it writes to stdout/stderr and sets process.exitCode.
 */
export async function runCli(cli: Cli, argv: string[] = process.argv.slice(2), io?: CliIo): Promise<number> {
  const { out, err: write } = io ?? processIo;
  let code: number;
  try {
    if (wantsHelp(argv)) {
      out(`${cli.usage}\n`);
      code = 0;
    } else code = await cli.main(argv, io ?? processIo);
  } catch (err) {
    if (err instanceof UsageError) {
      const usage = cli.shortUsage ? cli.usage.split("\n")[0] : cli.usage;
      write(`${cli.tool}: ${err.message}\n${usage}\n`);
      code = 2;
    } else if (err instanceof MaestroError) {
      write(`${cli.tool}: ${err.message}\n`);
      code = cli.exitCode?.(err) ?? 1;
    } else {
      write(`${cli.tool}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      code = 1;
    }
  }
  if (!io) process.exitCode = code;
  return code;
}
