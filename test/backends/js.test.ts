import { JsBackend } from '../../src/backends/js/index.js';
import { describeConformance } from './conformance.js';

describeConformance('js', () => new JsBackend());
