import { ContentUriError } from '../providers/content-store.ts';
import { WhereSyntaxError, type Row, type Value } from '../providers/where.ts';
import { fail, ok, type Command } from '../shell/types.ts';

/**
 * Android's `content` tool on the lab phone's providers: insert, query, update, delete with the
 * real argument syntax (`--bind col:type:value`, `--projection a:b`, `--where`, `--sort`) and
 * output (`Row: 0 _id=1, address=...`, `No result found.`).
 */
interface ContentArgs {
  action: string;
  uri?: string;
  binds: Row;
  projection?: string[];
  where?: string;
  sort?: string;
}

class UsageError extends Error {}

function bindValue(binding: string): [string, Value] {
  const first = binding.indexOf(':');
  const second = first < 0 ? -1 : binding.indexOf(':', first + 1);
  if (first <= 0 || second < 0) throw new UsageError(`Binding not well formed: ${binding}`);
  const column = binding.slice(0, first);
  const type = binding.slice(first + 1, second);
  const value = binding.slice(second + 1);
  switch (type) {
    case 's':
      return [column, value];
    case 'i':
    case 'l': {
      const n = Number.parseInt(value, 10);
      if (Number.isNaN(n))
        throw new UsageError(`Invalid ${type === 'i' ? 'int' : 'long'}: ${value}`);
      return [column, n];
    }
    case 'f':
    case 'd': {
      const n = Number.parseFloat(value);
      if (Number.isNaN(n))
        throw new UsageError(`Invalid ${type === 'f' ? 'float' : 'double'}: ${value}`);
      return [column, n];
    }
    case 'b':
      return [column, value === 'true' || value === '1' ? 1 : 0];
    case 'n':
      return [column, null];
    default:
      throw new UsageError(`Unsupported type: ${type}`);
  }
}

function parseArgs(args: string[]): ContentArgs {
  const [action, ...rest] = args;
  if (action === undefined) throw new UsageError('No command specified');
  const parsed: ContentArgs = { action, binds: {} };
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i];
    const value = rest[i + 1];
    if (value === undefined) throw new UsageError(`Argument expected after "${flag ?? ''}"`);
    i++;
    switch (flag) {
      case '--uri':
        parsed.uri = value;
        break;
      case '--user':
        break;
      case '--bind': {
        const [column, v] = bindValue(value);
        parsed.binds[column] = v;
        break;
      }
      case '--projection':
        parsed.projection = value.split(':').filter((c) => c !== '');
        break;
      case '--where':
        parsed.where = value;
        break;
      case '--sort':
        parsed.sort = value;
        break;
      default:
        throw new UsageError(`Unsupported argument: ${flag ?? ''}`);
    }
  }
  if (parsed.uri === undefined)
    throw new UsageError('Content provider URI not specified. Did you specify --uri argument?');
  return parsed;
}

function formatValue(value: Value | undefined): string {
  if (value === null || value === undefined) return 'NULL';
  return String(value);
}

export const content: Command = async ({ args, os }) => {
  let parsed: ContentArgs;
  try {
    parsed = parseArgs(args);
  } catch (error) {
    if (error instanceof UsageError)
      return fail(`Error: ${error.message}\nusage: adb shell content [subcommand] [options]`);
    throw error;
  }
  const uri = parsed.uri ?? '';
  try {
    switch (parsed.action) {
      case 'insert':
        if (Object.keys(parsed.binds).length === 0)
          return fail('Error: Bindings not specified. Did you specify --bind argument(s)?');
        os.content.insert(uri, parsed.binds);
        return ok();
      case 'query': {
        const result = os.content.query(uri, {
          ...(parsed.projection === undefined ? {} : { projection: parsed.projection }),
          ...(parsed.where === undefined ? {} : { where: parsed.where }),
          ...(parsed.sort === undefined ? {} : { sort: parsed.sort }),
        });
        if (result.rows.length === 0) return ok('No result found.\n');
        return ok(
          result.rows
            .map(
              (row, i) =>
                `Row: ${i} ${result.columns.map((c) => `${c}=${formatValue(row[c])}`).join(', ')}\n`,
            )
            .join(''),
        );
      }
      case 'delete':
        os.content.delete(uri, parsed.where);
        return ok();
      case 'update':
        os.content.update(uri, parsed.binds, parsed.where);
        return ok();
      default:
        return fail(
          `Error: Unsupported operation: ${parsed.action}\nusage: adb shell content [subcommand] [options]`,
        );
    }
  } catch (error) {
    const authority = /^content:\/\/([^/]*)/.exec(uri)?.[1] ?? uri;
    if (error instanceof ContentUriError) {
      const exception =
        error.kind === 'sql'
          ? 'android.database.sqlite.SQLiteException'
          : 'java.lang.IllegalArgumentException';
      return fail(
        `Error while accessing provider:${authority}\n${exception}: ${error.message}\n\tat com.android.commands.content.Content$Command.execute(Content.java:461)\n\tat com.android.commands.content.Content.main(Content.java:672)`,
      );
    }
    if (error instanceof WhereSyntaxError) {
      return fail(
        `Error while accessing provider:${authority}\nandroid.database.sqlite.SQLiteException: ${error.message}`,
      );
    }
    throw error;
  }
};
