/**
 * The `kmfit` executable: runs the command line (commands.ts) and sets the exit code.
 */
import { hideBin } from 'yargs/helpers';
import { main } from './commands.js';

const argv = hideBin(process.argv);
let stdoutFailed = false;
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  // A closed pipe (`kmfit info model | head`) is the reader's choice, not an error.
  if (error.code === 'EPIPE') process.exit(0);
  // Anything else (a full disk under `> file`, a terminal gone) is one line, once; the command
  // goes on (a training still saves its model) and the exit code says that output was lost.
  if (stdoutFailed) return;
  stdoutFailed = true;
  if (!process.exitCode) process.exitCode = 1; // the error can come after main() has returned
  const detail = argv.includes('--debug') && error.stack ? `\n${error.stack}` : '';
  process.stderr.write(`kmfit: cannot write the output: ${error.message}${detail}\n`);
});
const code = await main(argv);
process.exitCode = stdoutFailed && code === 0 ? 1 : code;
