/**
 * Preloaded (node --import) into the kmfit command by the kill tests. It watches the atomic writes
 * of one file (KMFIT_TEST_WATCH) through src/io/atomicWrite.ts's test seam, reports each stage on
 * stderr as "kmfit-test: <stage> <write number>", and with KMFIT_TEST_PAUSE=<stage>:<write number>
 * stops at that point for good — so that the test kills the process there, at a known place in a
 * write: after its first chunk ('partial'), or flushed but not renamed ('written').
 */
const watched = process.env.KMFIT_TEST_WATCH;
const [pauseStage, pauseWrite] = (process.env.KMFIT_TEST_PAUSE ?? '').split(':');
let writes = 0;

globalThis[Symbol.for('kmfit.atomicWrite.observer')] = async (stage, file) => {
  if (file.path !== watched) return;
  if (stage === 'partial') writes++;
  process.stderr.write(`kmfit-test: ${stage} ${writes} ${file.temp}\n`);
  if (stage === pauseStage && writes === Number(pauseWrite)) {
    setInterval(() => {}, 1 << 30); // keeps the process alive while the write never finishes
    await new Promise(() => {});
  }
};
