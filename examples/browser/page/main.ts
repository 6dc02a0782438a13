/**
 * The demo page: MNIST digits trained with fitInWorker (the page stays responsive), a live chart of
 * the error per epoch, the test error, a digit drawn with the mouse and its prediction, and the
 * model kept in IndexedDB or as a file.
 *
 * The address sets what a person would in the form, and more, for automated runs (test/browser/demo.test.ts):
 * ?train=5000&epochs=3&backend=wasm&start=auto (train at once)&stopAfter=1 (press Stop after that epoch).
 */
import { fitInWorker, planRows, type EpochMetrics, type KernelModel, type Plan } from 'kmfit';
import { chooseBackend, type BackendChoice } from './backendChoice.js';
import { drawErrorChart } from './chart.js';
import { DrawPad } from './drawPad.js';
import { LongTaskWatch } from './longTasks.js';
import { loadDigits, type Digits } from './mnist.js';
import { downloadModel, keepModel, restoreModel, uploadedModel } from './modelStore.js';

/** The page's state, also read by the browser test as `window.demo`. */
interface DemoState {
  state: 'loading' | 'ready' | 'training' | 'trained' | 'failed';
  backend?: BackendChoice;
  plan?: Plan;
  history: EpochMetrics[];
  testError?: number;
  stoppedBy?: string;
  trainSeconds?: number;
  longTasks?: { longestMs: number; count: number; supported: boolean };
  prediction?: string;
  /** Whether this page may compile code from strings (false under a Content Security Policy without 'unsafe-eval'). */
  evalAllowed: boolean;
  error?: string;
}

declare global {
  interface Window {
    demo: DemoState;
  }
}

const KEPT_MODEL = 'mnist';
/** The test digits drawn in the chart after each epoch (the test error at the end uses all of them). */
const CHART_TEST_DIGITS = 1000;

const query = new URLSearchParams(location.search);
const element = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const show = (id: string, text: string) => (element(id).textContent = text);

function evalAllowed(): boolean {
  try {
    return new Function('return true')() as boolean;
  } catch {
    return false;
  }
}

const demo: DemoState = (window.demo = { state: 'loading', history: [], evalAllowed: evalAllowed() });
const longTasks = new LongTaskWatch();
let model: KernelModel | undefined;
let test: Digits;
let stop: AbortController | undefined;

function fail(error: unknown): void {
  demo.state = 'failed';
  demo.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  show('status', `Failed: ${demo.error}`);
  element<HTMLButtonElement>('train').disabled = demo.backend === undefined;
  element<HTMLButtonElement>('stop').disabled = true;
}

/** The plan block as kmfit prints it: what, its value, and where it came from. */
function planText(plan: Plan): string {
  const rows = planRows(plan);
  const width = Math.max(...rows.map((row) => row.name.length));
  return rows.map((row) => `${row.name.padEnd(width)}  ${row.value}${row.why ? `   (${row.why})` : ''}`).join('\n');
}

function showModel(trained: KernelModel): void {
  void model?.dispose(); // the previous model's backend (its workers) goes with it
  model = trained;
  demo.plan = trained.plan;
  demo.stoppedBy = trained.stoppedBy;
  demo.history = [...trained.history];
  show('plan', planText(trained.plan));
  drawErrorChart(element('chart'), trained.plan.epochs, demo.history);
  for (const id of ['keep', 'download']) element<HTMLButtonElement>(id).disabled = false;
}

async function train(): Promise<void> {
  const count = Number(query.get('train') ?? element<HTMLInputElement>('train-size').value);
  const epochs = Number(query.get('epochs') ?? element<HTMLInputElement>('epochs').value);
  demo.state = 'training';
  demo.history = [];
  element<HTMLButtonElement>('train').disabled = true;
  element<HTMLButtonElement>('stop').disabled = false;
  show('status', `Loading ${count} training digits…`);
  const digits = await loadDigits('train', count);
  const chartTest = { X: { ...test.X, data: test.X.data.subarray(0, CHART_TEST_DIGITS * 784), rows: CHART_TEST_DIGITS }, y: test.y.subarray(0, CHART_TEST_DIGITS) };
  stop = new AbortController();
  show('status', `Set-up: the eigensystem of a subsample of the ${count} digits…`);
  // Training starts in a task of its own: the long tasks watched are the training's, not the loading's.
  await new Promise((resolve) => setTimeout(resolve, 0));
  const started = performance.now();
  longTasks.start();
  const trained = await fitInWorker(digits.X, digits.y, {
    kernel: 'gaussian',
    bandwidth: 5, // MNIST's published Gaussian bandwidth, for pixels in [0, 1]
    epochs,
    backend: demo.backend!.backend,
    validation: chartTest,
    signal: stop.signal,
    onPlan: (plan) => {
      demo.plan = plan;
      show('plan', planText(plan));
      show('status', `Training on ${plan.backend} (${plan.device ?? ''}): batch ${plan.batchSize}, ${plan.iterationsPerEpoch} iterations per epoch…`);
    },
    onEpoch: (report) => {
      demo.history.push(report);
      drawErrorChart(element('chart'), epochs, demo.history);
      show('status', `Epoch ${report.epoch} of ${report.epochs}: training error ${(100 * (report.trainError ?? 0)).toFixed(2)} %`);
      if (report.epoch === Number(query.get('stopAfter'))) stop?.abort();
    },
  });
  demo.trainSeconds = (performance.now() - started) / 1000;
  demo.longTasks = { ...(await longTasks.stop()), supported: longTasks.supported };
  element<HTMLButtonElement>('stop').disabled = true;
  showModel(trained);
  show(
    'responsiveness',
    demo.longTasks.supported
      ? `Longest main-thread task during training: ${demo.longTasks.longestMs.toFixed(0)} ms (${demo.longTasks.count} over 50 ms).`
      : 'This browser does not report long tasks.',
  );
  show('status', `Trained in ${demo.trainSeconds.toFixed(1)} s; scoring ${test.y.length} test digits…`);
  demo.testError = 1 - (await trained.score(test.X, test.y));
  show('test-error', `Test error: ${(100 * demo.testError).toFixed(2)} % on ${test.y.length} test digits (${trained.plan.n} training digits, ${trained.history.length} epochs).`);
  show('status', 'Trained. Draw a digit below.');
  element<HTMLButtonElement>('train').disabled = false;
  demo.state = 'trained';
}

async function predictDrawing(pad: DrawPad): Promise<void> {
  const image = pad.toMnist();
  if (!model || !image) return;
  const [label] = (await model.predict({ data: image, rows: 1, cols: 784 })) as number[];
  demo.prediction = String(label);
  show('prediction', demo.prediction);
}

async function withStoreStatus(what: string, action: () => Promise<string>): Promise<void> {
  try {
    show('store-status', await action());
  } catch (error) {
    show('store-status', `${what} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function wireControls(): void {
  const pad: DrawPad = new DrawPad(element('pad'), () => void predictDrawing(pad).catch(fail));
  element('clear').addEventListener('click', () => {
    pad.clear();
    show('prediction', '–');
  });
  element('train').addEventListener('click', () => void train().catch(fail));
  element('stop').addEventListener('click', () => stop?.abort());
  element('keep').addEventListener('click', () =>
    void withStoreStatus('Saving', async () => {
      await keepModel(KEPT_MODEL, model!);
      return `Saved in this browser's IndexedDB (${(model!.toBytes().length / 2 ** 20).toFixed(1)} MB).`;
    }),
  );
  element('restore').addEventListener('click', () =>
    void withStoreStatus('Loading', async () => {
      const restored = await restoreModel(KEPT_MODEL);
      if (!restored) return 'No model saved in this browser yet.';
      showModel(restored);
      return `Loaded the saved model (${restored.plan.n} training digits).`;
    }),
  );
  element('download').addEventListener('click', () => downloadModel(model!, 'mnist.kmfit'));
  element<HTMLInputElement>('upload').addEventListener('change', (event) => {
    const file = (event.target as HTMLInputElement).files?.[0];
    if (file) void withStoreStatus('Opening', async () => (showModel(await uploadedModel(file)), `Opened ${file.name}.`));
  });
}

async function start(): Promise<void> {
  wireControls();
  demo.backend = await chooseBackend(query.get('backend'));
  show('backend', `Backend: ${demo.backend.backend} — ${demo.backend.reason}.`);
  show('status', 'Loading the MNIST test digits…');
  test = await loadDigits('t10k', Number(query.get('test') ?? 10_000));
  demo.state = 'ready';
  element<HTMLButtonElement>('train').disabled = false;
  show('status', 'Ready: choose how many digits to train on, then Train.');
  if (query.get('start') === 'auto') await train();
}

start().catch(fail);
