/**
 * @module test/support/onnx-classifier — builds a text-classification model folder from an
 * encoder folder (transformers.js layout) without Python: a linear head on the [CLS] vector
 * is appended to the encoder's ONNX graph.
 *
 * ONNX files are protobuf, and protobuf merges a repeated occurrence of an embedded message
 * field into the first one, appending repeated fields. So writing a second `ModelProto.graph`
 * that holds only the new nodes, initializers and output, after the original bytes, yields the
 * original graph plus the head — no parser needed, just the few encoders below.
 */
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Bytes = Uint8Array;

function varint(value: number | bigint): Bytes {
  const out: number[] = [];
  let v = BigInt.asUintN(64, BigInt(value));
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}

const concat = (parts: Bytes[]): Bytes => Buffer.concat(parts);
const key = (field: number, wire: 0 | 2): Bytes => varint((field << 3) | wire);
const num = (field: number, value: number | bigint): Bytes =>
  concat([key(field, 0), varint(value)]);
const bytes = (field: number, value: Bytes): Bytes =>
  concat([key(field, 2), varint(value.length), value]);
const str = (field: number, value: string): Bytes => bytes(field, Buffer.from(value, 'utf8'));

const FLOAT = 1;
const INT64 = 7;

/** TensorProto: dims=1, data_type=2, name=8, raw_data=9 (little-endian). */
function tensor(name: string, dims: number[], type: number, raw: Bytes): Bytes {
  return concat([...dims.map((d) => num(1, d)), num(2, type), str(8, name), bytes(9, raw)]);
}

/** NodeProto: input=1, output=2, name=3, op_type=4, attribute=5 (AttributeProto INT: 1, 3, 20). */
function node(op: string, inputs: string[], output: string, ints: Record<string, number> = {}) {
  const attrs = Object.entries(ints).map(([n, v]) =>
    bytes(5, concat([str(1, n), num(3, v), num(20, 2)])),
  );
  return concat([
    ...inputs.map((i) => str(1, i)),
    str(2, output),
    str(3, `gh_${output}`),
    str(4, op),
    ...attrs,
  ]);
}

/** ValueInfoProto for a float tensor `[batch, width]`. */
function floatOutput(name: string, width: number): Bytes {
  const shape = concat([bytes(1, str(2, 'batch')), bytes(1, num(1, width))]);
  const tensorType = concat([num(1, FLOAT), bytes(2, shape)]);
  return concat([str(1, name), bytes(2, bytes(1, tensorType))]);
}

/** What the head computes: logits = last_hidden_state[:, 0, :] · weights + bias. */
export interface HeadSpec {
  /** Row-major `[hidden, labels.length]`. */
  weights: Float32Array;
  bias: Float32Array;
  labels: string[];
  /** `multi_label_classification` makes the backend score with sigmoid. */
  problemType?: 'single_label_classification' | 'multi_label_classification';
}

/** Returns the bytes of `encoder` (an ONNX model with a `last_hidden_state` output) plus a head. */
export function appendClassifierHead(encoder: Bytes, head: HeadSpec): Bytes {
  const width = head.labels.length;
  const hidden = head.weights.length / width;
  const raw = (a: Float32Array | BigInt64Array): Bytes =>
    new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const graph = concat([
    bytes(1, node('Gather', ['last_hidden_state', 'gh_zero'], 'gh_cls', { axis: 1 })),
    bytes(1, node('MatMul', ['gh_cls', 'gh_weights'], 'gh_scores')),
    bytes(1, node('Add', ['gh_scores', 'gh_bias'], 'logits')),
    bytes(5, tensor('gh_zero', [], INT64, raw(new BigInt64Array(1)))),
    bytes(5, tensor('gh_weights', [hidden, width], FLOAT, raw(head.weights))),
    bytes(5, tensor('gh_bias', [width], FLOAT, raw(head.bias))),
    bytes(12, floatOutput('logits', width)),
  ]);
  return concat([encoder, bytes(7, graph)]);
}

/**
 * Copies the encoder folder `source` into a new temp folder (named `name`) and turns it into
 * a `BertForSequenceClassification` folder with the given head. Returns the folder path; its
 * parent is a fresh temp folder the caller removes.
 */
export async function buildClassifierFolder(
  source: string,
  head: HeadSpec,
  name = 'tiny-classifier',
): Promise<string> {
  const dir = join(await mkdtemp(join(tmpdir(), 'gatehouse-onnx-')), name);
  // File by file rather than cp -r: the shared model folder is read-only, and cp keeps modes.
  await mkdir(join(dir, 'onnx'), { recursive: true });
  for (const file of ['tokenizer.json', 'tokenizer_config.json']) {
    await copyFile(join(source, file), join(dir, file));
  }
  const config = JSON.parse(await readFile(join(source, 'config.json'), 'utf8')) as object;
  const id2label = Object.fromEntries(head.labels.map((l, i) => [String(i), l]));
  const label2id = Object.fromEntries(head.labels.map((l, i) => [l, i]));
  const withHead = {
    ...config,
    architectures: ['BertForSequenceClassification'],
    id2label,
    label2id,
    ...(head.problemType ? { problem_type: head.problemType } : {}),
  };
  await writeFile(join(dir, 'config.json'), JSON.stringify(withHead, null, 1));
  const encoder = await readFile(join(source, 'onnx', 'model.onnx'));
  await writeFile(join(dir, 'onnx', 'model.onnx'), appendClassifierHead(encoder, head));
  return dir;
}
