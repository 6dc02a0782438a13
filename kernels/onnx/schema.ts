/**
 * The part of ONNX's protobuf schema (onnx.proto, IR version 8) that kmfit's graphs use, declared
 * for protobufjs's reflection encoder: a model with one graph of nodes over float tensors, its
 * initializers (the centers) and its typed inputs and outputs. Field names and numbers are those
 * of onnx.proto; fields kmfit never writes are left out (protobuf readers skip what is absent).
 *
 * Tensor data goes in `raw_data` as little-endian bytes: the bytes of a Float32Array on every
 * platform onnxruntime-node ships for (x64 and arm64, both little-endian).
 *
 * protobufjs is loaded on the first encoding, not with kmfit: only the onnx backend needs it, and
 * loading it costs ≈50 ms at every start of every program that imports kmfit.
 */

/** TensorProto.DataType values used here. */
export const FLOAT = 1;
export const UINT8 = 2;
export const INT8 = 3;
export const INT32 = 6;
export const FLOAT16 = 10;
export const DOUBLE = 11;

/** AttributeProto.AttributeType values used here. */
export const ATTRIBUTE_FLOAT = 1;
export const ATTRIBUTE_INT = 2;
export const ATTRIBUTE_INTS = 7;

/** The IR version written, and the opset of the default ("") domain the graphs are built against. */
export const IR_VERSION = 8;
export const OPSET = 17;

type Fields = Record<string, { type: string; id: number; rule?: 'repeated' }>;

const repeated = (type: string, id: number) => ({ type, id, rule: 'repeated' as const });

const MESSAGES: Record<string, Fields> = {
  ModelProto: {
    irVersion: { type: 'int64', id: 1 },
    producerName: { type: 'string', id: 2 },
    producerVersion: { type: 'string', id: 3 },
    graph: { type: 'GraphProto', id: 7 },
    opsetImport: repeated('OperatorSetIdProto', 8),
  },
  OperatorSetIdProto: {
    domain: { type: 'string', id: 1 },
    version: { type: 'int64', id: 2 },
  },
  GraphProto: {
    node: repeated('NodeProto', 1),
    name: { type: 'string', id: 2 },
    initializer: repeated('TensorProto', 5),
    input: repeated('ValueInfoProto', 11),
    output: repeated('ValueInfoProto', 12),
  },
  NodeProto: {
    input: repeated('string', 1),
    output: repeated('string', 2),
    name: { type: 'string', id: 3 },
    opType: { type: 'string', id: 4 },
    attribute: repeated('AttributeProto', 5),
  },
  AttributeProto: {
    name: { type: 'string', id: 1 },
    f: { type: 'float', id: 2 },
    i: { type: 'int64', id: 3 },
    ints: repeated('int64', 8),
    type: { type: 'int32', id: 20 },
  },
  TensorProto: {
    dims: repeated('int64', 1),
    dataType: { type: 'int32', id: 2 },
    name: { type: 'string', id: 8 },
    rawData: { type: 'bytes', id: 9 },
  },
  ValueInfoProto: {
    name: { type: 'string', id: 1 },
    type: { type: 'TypeProto', id: 2 },
  },
  TypeProto: {
    tensorType: { type: 'TensorTypeProto', id: 1 },
  },
  // TypeProto.Tensor in onnx.proto; a nested message there, a sibling here (same wire format).
  TensorTypeProto: {
    elemType: { type: 'int32', id: 1 },
    shape: { type: 'TensorShapeProto', id: 2 },
  },
  TensorShapeProto: {
    dim: repeated('Dimension', 1),
  },
  // TensorShapeProto.Dimension: a fixed size, or a named symbolic one (the batch rows "m").
  Dimension: {
    dimValue: { type: 'int64', id: 1 },
    dimParam: { type: 'string', id: 2 },
  },
};

interface ModelType {
  fromObject(object: Record<string, unknown>): unknown;
  encode(message: unknown): { finish(): Uint8Array };
}

let modelType: Promise<ModelType> | undefined;

/** ModelProto, as protobufjs's reflection type over MESSAGES; made once. */
function modelProto(): Promise<ModelType> {
  modelType ??= import('protobufjs/light.js').then(({ default: protobuf }) => {
    const nested = Object.fromEntries(Object.entries(MESSAGES).map(([name, fields]) => [name, { fields }]));
    return protobuf.Root.fromJSON({ nested: { onnx: { nested } } }).lookupType('onnx.ModelProto');
  });
  return modelType;
}

/** A dimension: its size, or the name of a size fixed only when the model runs. */
export type Dim = number | string;

export interface TensorMessage {
  readonly name: string;
  readonly dims: readonly number[];
  readonly dataType: number;
  readonly rawData: Uint8Array;
}

export interface AttributeMessage {
  readonly name: string;
  readonly type: number;
  readonly f?: number;
  readonly i?: number;
  readonly ints?: readonly number[];
}

export interface NodeMessage {
  readonly name: string;
  readonly opType: string;
  readonly input: readonly string[];
  readonly output: readonly string[];
  readonly attribute: readonly AttributeMessage[];
}

export interface ValueInfoMessage {
  readonly name: string;
  readonly type: { tensorType: { elemType: number; shape: { dim: ({ dimValue: number } | { dimParam: string })[] } } };
}

export interface GraphMessage {
  readonly name: string;
  readonly node: readonly NodeMessage[];
  readonly initializer: readonly TensorMessage[];
  readonly input: readonly ValueInfoMessage[];
  readonly output: readonly ValueInfoMessage[];
}

/** A tensor's type (float32 unless `elemType` says otherwise), for graph inputs and outputs. */
export function floatValueInfo(name: string, dims: readonly Dim[], elemType = FLOAT): ValueInfoMessage {
  const dim = dims.map((size) => (typeof size === 'number' ? { dimValue: size } : { dimParam: size }));
  return { name, type: { tensorType: { elemType, shape: { dim } } } };
}

/** The serialized ModelProto of one graph, as InferenceSession.create takes it. */
export async function encodeModel(graph: GraphMessage, producerVersion: string): Promise<Uint8Array> {
  const ModelProto = await modelProto();
  const message = ModelProto.fromObject({
    irVersion: IR_VERSION,
    producerName: 'kmfit',
    producerVersion,
    opsetImport: [{ domain: '', version: OPSET }],
    graph,
  });
  return ModelProto.encode(message).finish();
}
