/**
 * `kmfit resume CHECKPOINT`: continues a training the kmfit command checkpointed, with the
 * arguments it kept in the checkpoint (the same data files, options and model path); only how and
 * how long it runs may change (--epochs, --backend, --threads, --checkpoint-every, --json, --quiet).
 */
import path from 'node:path';
import { readCheckpoint } from '../checkpoint/file.js';
import { KmfitError } from '../errors.js';
import { train, type CommandContext, type TrainArgs } from './train.js';

export interface ResumeArgs {
  checkpoint: string;
  epochs?: number;
  backend?: string;
  threads?: number;
  'checkpoint-every'?: number;
  json?: boolean;
  quiet?: boolean;
}

function commandContext(context: unknown): CommandContext | undefined {
  if (typeof context !== 'object' || context === null) return undefined;
  const { command, args, keep } = context as Partial<CommandContext>;
  if (command !== 'kmfit' || typeof args !== 'object' || args === null || typeof args.data !== 'string') return undefined;
  return { command, args, keep: keep === true };
}

export async function resume(args: ResumeArgs): Promise<number> {
  const from = path.resolve(args.checkpoint);
  const checkpoint = await readCheckpoint(from);
  const context = commandContext(checkpoint.context);
  if (!context) {
    throw new KmfitError(
      'INVALID_FILE',
      `${args.checkpoint} was written by fit() in a program, not by the kmfit command, so it does not say which files to ` +
        'read: resume it from that program with fit(X, y, { resumeFrom }).',
    );
  }
  const { state, plan } = checkpoint;
  const epochs = args.epochs ?? plan.epochs;
  const where =
    state.finished !== undefined && epochs <= state.epochsDone
      ? `it finished (${state.finished}) after ${state.epochsDone} epochs`
      : `${state.epochsDone} of ${epochs} epochs done${state.order ? `, ${state.epochIterations} iterations into epoch ${state.epochsDone + 1}` : ''}`;
  const merged: TrainArgs = {
    ...context.args,
    ...(args.epochs !== undefined ? { epochs: args.epochs } : {}),
    ...(args.backend !== undefined ? { backend: args.backend } : {}),
    ...(args.threads !== undefined ? { threads: args.threads } : {}),
    ...(args['checkpoint-every'] !== undefined ? { 'checkpoint-every': args['checkpoint-every'] } : {}),
    json: args.json,
    quiet: args.quiet,
  };
  return train(merged, { from, note: `resuming ${from}: ${where}`, keep: context.keep });
}
