// Command-line options of the experiment scripts (`--name value`), one copy instead of one per script.
// A number that does not parse is an error naming the script and the option, never a silent NaN.

/** The value after `--name`, or `fallback` when the option is absent. */
export function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

/** `--name` as a number (`Infinity` allowed, e.g. a step size that never decays); `script` names the caller in the error. */
export function numberOption(script: string, name: string, fallback: number): number {
  const v = Number(option(name, String(fallback)));
  if (Number.isNaN(v)) throw new Error(`${script}: --${name}: expected a number, found ${option(name, '')}`);
  return v;
}

/** `--name a,b,c` as a list, empty items dropped. */
export function listOption(name: string, fallback: string): string[] {
  return option(name, fallback)
    .split(',')
    .filter((s) => s !== '');
}
