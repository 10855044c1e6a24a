import { parseCommandArgs } from './args';
import { CliError } from './cli-error';

const specs = {
  tenant: { type: 'string', required: true, description: 't' },
  activate: { type: 'boolean', description: 'a' },
  algorithm: { type: 'string', description: 'alg' },
} as const;

describe('parseCommandArgs', () => {
  it('reads options, flags, global options and positionals', () => {
    const args = parseCommandArgs(['--tenant', 'Acme', '--activate', '--json', 'dk_1'], specs, 1, ['x']);
    expect(args.required('tenant')).toBe('Acme');
    expect(args.flag('activate')).toBe(true);
    expect(args.flag('json')).toBe(true);
    expect(args.positional(0, '<keyId>')).toBe('dk_1');
    expect(args.string('api')).toBeUndefined();
  });

  it('accepts --name=value and keeps the last of repeated options', () => {
    const args = parseCommandArgs(['--tenant=A', '--tenant', 'B'], specs, 0, ['x']);
    expect(args.required('tenant')).toBe('B');
  });

  it('refuses an unknown option as a usage error with a pointer to --help', () => {
    const error = catchError(() => parseCommandArgs(['--tenat', 'x'], specs, 0, ['onboard']));
    expect(error).toMatchObject({ kind: 'usage', details: ['see: ser onboard --help'] });
    expect(error.message).toContain("'--tenat'");
  });

  it('refuses a missing value, an extra positional and a missing required option', () => {
    expect(catchError(() => parseCommandArgs(['--tenant'], specs, 0, ['x'])).kind).toBe('usage');
    expect(catchError(() => parseCommandArgs(['a', 'b'], specs, 1, ['x'])).message).toBe(
      'unexpected argument "b"',
    );
    const args = parseCommandArgs(['--tenant', '  '], specs, 0, ['x']);
    expect(catchError(() => args.required('tenant')).message).toBe('missing required option --tenant');
    expect(catchError(() => args.positional(0, '<keyId>')).message).toBe('missing argument <keyId>');
  });

  it('checks choices and applies the default', () => {
    expect(parseCommandArgs([], specs, 0, ['x']).choice('algorithm', ['rsa', 'ed25519'], 'rsa')).toBe('rsa');
    const args = parseCommandArgs(['--algorithm', 'dsa'], specs, 0, ['x']);
    expect(catchError(() => args.choice('algorithm', ['rsa', 'ed25519'], 'rsa')).message).toBe(
      '--algorithm must be one of rsa, ed25519, not "dsa"',
    );
  });
});

function catchError(fn: () => unknown): CliError {
  try {
    fn();
  } catch (error) {
    if (error instanceof CliError) {
      return error;
    }
    throw error;
  }
  throw new Error('expected a CliError');
}
