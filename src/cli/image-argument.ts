import { InputError } from '../errors.ts';

// The image checks live in src/run so the HTTP API runs the very same ones.
export {
  LAB_IMAGES_DIR,
  labImageNames,
  resolveImageArgument,
  type ResolvedImage,
} from '../run/image-argument.ts';

export function assertRunId(value: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(value)) {
    throw new InputError('run-id-invalid', `"${value}" is not a run id`, {
      hint: 'run ids look like r20261121-0530-ab12cd',
    });
  }
  return value;
}
