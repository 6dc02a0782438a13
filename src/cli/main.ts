/**
 * The `kmfit` executable: runs the command line (commands.ts) and sets the exit code.
 */
import { hideBin } from 'yargs/helpers';
import { main } from './commands.js';

// A closed pipe (`kmfit info model | head`) is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});
process.exitCode = await main(hideBin(process.argv));
