/**
 * A small builder for one ONNX graph over float32 (and float64, and the byte form's integer) tensors: inputs,
 * initializers, nodes with fresh output names, scalar constants (shared by value), and the serialized model at
 * the end.
 */
import { version } from '../../src/version.js';
import {
  ATTRIBUTE_FLOAT,
  ATTRIBUTE_INT,
  ATTRIBUTE_INTS,
  DOUBLE,
  FLOAT,
  INT32,
  INT8,
  encodeModel,
  floatValueInfo,
  type AttributeMessage,
  type Dim,
  type NodeMessage,
  type TensorMessage,
  type ValueInfoMessage,
} from './schema.js';

export type { Dim } from './schema.js';

/** An attribute value: a float, an int, or a list of ints (ONNX attributes are typed). */
export type Attribute = { readonly float: number } | { readonly int: number } | { readonly ints: readonly number[] };

function attribute(name: string, value: Attribute): AttributeMessage {
  if ('float' in value) return { name, type: ATTRIBUTE_FLOAT, f: value.float };
  if ('int' in value) return { name, type: ATTRIBUTE_INT, i: value.int };
  return { name, type: ATTRIBUTE_INTS, ints: value.ints };
}

/** The values an initializer may hold, each typed array its TensorProto.DataType. */
export type InitializerValues = Float32Array | Float64Array | Int8Array | Int32Array;

function dataTypeOf(data: InitializerValues): number {
  if (data instanceof Float64Array) return DOUBLE;
  if (data instanceof Int8Array) return INT8;
  if (data instanceof Int32Array) return INT32;
  return FLOAT;
}

function bytesOf(data: InitializerValues): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export class OnnxGraph {
  private readonly nodes: NodeMessage[] = [];
  private readonly initializers: TensorMessage[] = [];
  private readonly inputs: ValueInfoMessage[] = [];
  private readonly outputs: ValueInfoMessage[] = [];
  private readonly scalars = new Map<number, string>();
  private named = 0;

  constructor(private readonly name: string) {}

  /** Declares an input, float32 unless `elemType` (a TensorProto.DataType) says otherwise; returns its name. */
  input(name: string, dims: readonly Dim[], elemType = FLOAT): string {
    this.inputs.push(floatValueInfo(name, dims, elemType));
    return name;
  }

  /** Declares `value` (a tensor name) as a graph output named `name`, of type `elemType` (float32). */
  output(value: string, name: string, dims: readonly Dim[], elemType = FLOAT): void {
    this.node('Identity', [value], {}, name);
    this.outputs.push(floatValueInfo(name, dims, elemType));
  }

  /** A constant tensor (of `data`'s type) kept in the model (and in the session): its data is not copied here. */
  initializer(dims: readonly number[], data: InitializerValues, prefix = 'c'): string {
    const size = dims.reduce((a, b) => a * b, 1);
    if (data.length !== size) throw new RangeError(`initializer of shape [${dims.join(', ')}] given ${data.length} values`);
    const name = this.fresh(prefix);
    this.initializers.push({ name, dims, dataType: dataTypeOf(data), rawData: bytesOf(data) });
    return name;
  }

  /** A float32 scalar constant (a 0-d tensor, broadcast against anything), one per value. */
  scalar(value: number): string {
    const key = Math.fround(value);
    const known = this.scalars.get(key);
    if (known !== undefined) return known;
    const name = this.initializer([], Float32Array.of(key), 'k');
    this.scalars.set(key, name);
    return name;
  }

  /** Adds a node with one output; returns the output's name (`output`, or a fresh one). */
  node(opType: string, input: readonly string[], attributes: Readonly<Record<string, Attribute>> = {}, output?: string): string {
    const name = output ?? this.fresh('t');
    this.nodes.push({
      name: `${opType}_${this.nodes.length}`,
      opType,
      input,
      output: [name],
      attribute: Object.entries(attributes).map(([key, value]) => attribute(key, value)),
    });
    return name;
  }

  /** The serialized model. */
  encode(): Promise<Uint8Array> {
    return encodeModel(
      { name: this.name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
      version,
    );
  }

  private fresh(prefix: string): string {
    return `${prefix}${this.named++}`;
  }
}
