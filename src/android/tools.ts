import { execa, type Options as ExecaOptions } from 'execa';
import { CanarytrapError } from '../errors.ts';

/**
 * The outside programs intake uses, with the Debian package that ships each, so a missing tool
 * ends in an error that says what to install.
 */
export const TOOL_PACKAGES = {
  mke2fs: 'e2fsprogs',
  'mkfs.erofs': 'erofs-utils',
  debugfs: 'e2fsprogs',
  simg2img: 'android-sdk-libsparse-utils',
  img2simg: 'android-sdk-libsparse-utils',
  aapt: 'aapt',
  aapt2: 'aapt',
  apksigner: 'apksigner',
  smali: 'smali',
  zip: 'zip',
  xz: 'xz-utils',
  bzip2: 'bzip2',
} as const;
export type ToolName = keyof typeof TOOL_PACKAGES;

/** Tools that are Java programs: each run is a fresh JVM that lives for well under a second. */
const JVM_TOOLS: ReadonlySet<ToolName> = new Set(['apksigner', 'smali']);
/**
 * C1 only and the serial collector: a JVM that exits in a second never benefits from C2 or a
 * parallel GC, and starting them costs more than they save (measured: about a third off).
 */
const SHORT_LIVED_JVM = { JAVA_TOOL_OPTIONS: '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC' };

export interface ToolResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface RunToolOptions {
  /** Milliseconds before the tool is killed; the error names this option. Default 60 s. */
  timeoutMs?: number;
  cwd?: string;
  /** Resolve with a non-zero exit code instead of throwing `tool-failed`. */
  allowFailure?: boolean;
  /** Raw stdout (for `debugfs cat` of binary files). */
  binaryStdout?: boolean;
  env?: Record<string, string>;
}

/** Runs one tool with a timeout; a missing binary becomes `tool-missing` naming its package. */
export async function runTool(
  tool: ToolName,
  args: readonly string[],
  options: RunToolOptions = {},
): Promise<ToolResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const execaOptions: ExecaOptions = {
    timeout: timeoutMs,
    reject: false,
    stdin: 'ignore',
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    env: { ...(JVM_TOOLS.has(tool) ? SHORT_LIVED_JVM : {}), ...options.env },
  };
  const result = await execa(tool, args, execaOptions);
  if (result.failed && (result.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new CanarytrapError('tool-missing', `${tool} is not installed`, {
      permanent: true,
      hint: `install it with: apt-get install -y ${TOOL_PACKAGES[tool]}`,
    });
  }
  const stdout = String(result.stdout ?? '');
  const stderr = String(result.stderr ?? '');
  if (result.timedOut) {
    throw new CanarytrapError(
      'tool-timeout',
      `${tool} ${args[0] ?? ''} ran longer than ${timeoutMs} ms`,
      {
        hint: 'raise timeoutMs in the intake options if the image is very large',
        details: { tool, args, stderr: stderr.slice(-2000) },
      },
    );
  }
  const exitCode = result.exitCode ?? -1;
  if (exitCode !== 0 && !options.allowFailure) {
    throw new CanarytrapError(
      'tool-failed',
      `${tool} ${args[0] ?? ''} exited with ${exitCode}: ${lastLine(stderr || stdout)}`,
      {
        details: { tool, args, exitCode, stdout: stdout.slice(-2000), stderr: stderr.slice(-2000) },
      },
    );
  }
  return { stdout, stderr, exitCode };
}

/** Like runTool, but stdout as bytes (execa's `encoding: 'buffer'`). */
export async function runToolBytes(
  tool: ToolName,
  args: readonly string[],
  options: RunToolOptions & { maxBytes?: number; input?: Buffer } = {},
): Promise<{ stdout: Buffer; stderr: string; exitCode: number }> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const result = await execa(tool, args, {
    timeout: timeoutMs,
    reject: false,
    ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
    encoding: 'buffer',
    // Bytes are file content: a final newline is part of it.
    stripFinalNewline: false,
    maxBuffer: options.maxBytes ?? 512 * 1024 * 1024,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  if (result.failed && (result.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new CanarytrapError('tool-missing', `${tool} is not installed`, {
      permanent: true,
      hint: `install it with: apt-get install -y ${TOOL_PACKAGES[tool]}`,
    });
  }
  const stderr = Buffer.from(result.stderr ?? new Uint8Array()).toString('utf8');
  if (result.timedOut) {
    throw new CanarytrapError('tool-timeout', `${tool} ran longer than ${timeoutMs} ms`, {
      hint: 'raise timeoutMs in the intake options if the image is very large',
    });
  }
  if (result.isMaxBuffer) {
    throw new CanarytrapError(
      'tool-output-too-large',
      `${tool} wrote more than ${options.maxBytes ?? 512 * 1024 * 1024} bytes`,
      {
        permanent: true,
      },
    );
  }
  const exitCode = result.exitCode ?? -1;
  if (exitCode !== 0 && !options.allowFailure) {
    throw new CanarytrapError(
      'tool-failed',
      `${tool} exited with ${exitCode}: ${lastLine(stderr)}`,
      {
        details: { tool, args, exitCode, stderr: stderr.slice(-2000) },
      },
    );
  }
  return { stdout: Buffer.from(result.stdout ?? new Uint8Array()), stderr, exitCode };
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return lines[lines.length - 1] ?? '';
}
