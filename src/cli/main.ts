/**
 * The `sds` command line (README "Command line"): finetune, segment, eval, info, bench. Errors print
 * as "sds: E_CODE: message" (with --json also as {"error": ...} on stdout) and exit with the codes of
 * ./exit-codes.ts. Runs from the built dist (bin/sds.js) or from sources (npm run sds -- ...).
 */
import { register } from 'node:module';
import { SdsError } from '../core/errors.js';
import { benchCommand, BENCH_HELP } from './bench.js';
import { evalCommand, EVAL_HELP } from './evaluate.js';
import { EXIT, exitCodeOf, fileSystemError, UsageError } from './exit-codes.js';
import { finetuneCommand, FINETUNE_HELP } from './finetune.js';
import { infoCommand, INFO_HELP } from './info.js';
import { segmentCommand, SEGMENT_HELP } from './segment.js';

const HELP = `sds — fine-tune and run 3-D segmentation (V-Net, Switching Dual-Student) on this machine: WebGPU or WebAssembly

${FINETUNE_HELP}

${SEGMENT_HELP}

${EVAL_HELP}

${INFO_HELP}

${BENCH_HELP}

exit codes: 0 ok, 1 runtime failure, 2 usage error, 3 bad input file or unwritable output path, 4 bad model file, 5 no usable device, 130 interrupted`;

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  finetune: finetuneCommand,
  segment: segmentCommand,
  eval: evalCommand,
  info: infoCommand,
  bench: benchCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  const json = args.includes('--json');
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      process.stdout.write(`${HELP}\n`);
      return command === undefined ? EXIT.usage : EXIT.ok;
    }
    const run = COMMANDS[command];
    if (run === undefined)
      throw new UsageError(`unknown command "${command}": expected one of ${Object.keys(COMMANDS).join(', ')} (sds --help)`);
    return await run(args);
  } catch (thrown) {
    const e = fileSystemError(thrown) ?? thrown;
    const code = exitCodeOf(e);
    const errorCode = e instanceof SdsError ? e.code : e instanceof UsageError ? 'E_USAGE' : 'E_INTERNAL';
    const message = e instanceof SdsError ? e.message : `${errorCode}: ${e instanceof Error ? e.message : String(e)}`;
    process.stderr.write(`sds: ${message}\n`);
    if (code === EXIT.usage) process.stderr.write('(sds --help lists the commands and flags)\n');
    if (code === EXIT.failure && !(e instanceof SdsError) && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    if (json) process.stdout.write(`${JSON.stringify({ error: { code: errorCode, message, exit: code } })}\n`);
    return code;
  }
}

// From sources (tsx), the WebGPU backend's .wgsl imports need the loader the benches use; the built
// dist has them inlined.
if (import.meta.url.endsWith('.ts')) register('../../bench/support/wgsl-loader.mjs', import.meta.url);

const isEntry = process.argv[1] !== undefined && /[/\\](main\.ts|cli\.js)$/.test(process.argv[1]);
if (isEntry) {
  const code = await main(process.argv.slice(2));
  // The wasm worker pool and Dawn may hold the event loop open: leave once output is flushed.
  process.stdout.write('', () => process.exit(code));
}
