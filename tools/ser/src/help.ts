import { GLOBAL_OPTIONS } from './args';
import type { OptionSpecs } from './args';
import type { Command } from './commands/command';

function optionLines(specs: OptionSpecs): string[] {
  const entries = Object.entries(specs).map(([name, spec]) => [
    `--${name}${spec.value === undefined ? '' : ` ${spec.value}`}`,
    spec.description,
  ]);
  const width = Math.max(0, ...entries.map(([flag]) => (flag ?? '').length));
  return entries.map(([flag, description]) => `  ${(flag ?? '').padEnd(width)}  ${description ?? ''}`);
}

function synopsis(command: Command): string {
  const options = Object.entries(command.options).map(([name, spec]) => {
    const option = `--${name}${spec.value === undefined ? '' : ` ${spec.value}`}`;
    return spec.required === true ? option : `[${option}]`;
  });
  return ['ser', ...command.words, ...(command.positionals ?? []), ...options].join(' ');
}

/** `ser <command> --help`. */
export function commandHelp(command: Command): string {
  const lines = [`usage: ${synopsis(command)}`, '', command.summary, ''];
  if (Object.keys(command.options).length > 0) {
    lines.push('options:', ...optionLines(command.options), '');
  }
  lines.push('global options:', ...optionLines(GLOBAL_OPTIONS));
  if (command.notes !== undefined) {
    lines.push('', command.notes);
  }
  return `${lines.join('\n')}\n`;
}

/** `ser --help`, or the commands of one group (`ser dkim`). */
export function overviewHelp(commands: readonly Command[], group?: string): string {
  const shown = commands.filter((c) => group === undefined || c.words[0] === group);
  const names = shown.map((c) => [...c.words, ...(c.positionals ?? [])].join(' '));
  const width = Math.max(0, ...names.map((n) => n.length));
  const lines = [
    `usage: ser ${group ?? '<command>'} ${group === undefined ? '' : '<subcommand> '}[options]`,
    '',
    'commands:',
    ...shown.map((c, i) => `  ${(names[i] ?? '').padEnd(width)}  ${c.summary}`),
    '',
    'global options:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    'The token comes from SER_API_TOKEN or the file in SER_API_TOKEN_FILE (or --token-file).',
    "Run 'ser <command> --help' for a command's options. Documentation: docs/cli.md",
  ];
  return `${lines.join('\n')}\n`;
}
