/**
 * @module inference/backends/onnx/folder — reads and checks a model folder in the
 * transformers.js layout (config.json, tokenizer files, onnx/model[_quantized].onnx) before
 * any runtime sees it, so a missing file or a folder that cannot serve the requested task is
 * refused with a message that names the folder and the file.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ModelArtifactError } from '../../artifact.js';
import { labelsFromId2Label, type ScoreFunction } from './math.js';

/** The tasks an ONNX encoder folder can serve. */
export type OnnxTask = 'embedding' | 'classification';

/** What the loader needs to know about a model folder, read from its files. */
export interface OnnxFolder {
  /** Absolute folder path. */
  readonly dir: string;
  /** The folder's parent, for `env.localModelPath`. */
  readonly parent: string;
  /** What to hand to `from_pretrained`: the folder name, relative to `parent`. */
  readonly name: string;
  /** The ONNX file that will be loaded (the one whose digest is checked). */
  readonly modelFile: string;
  /** transformers.js dtype that selects `modelFile` (`fp32` → model.onnx, `q8` → _quantized). */
  readonly dtype: 'fp32' | 'q8';
  /** Parsed config.json. */
  readonly config: Readonly<Record<string, unknown>>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

// transformers.js resolves a name against env.localModelPath only when it looks like a Hub
// repo id (utils/hub.js isValidHfModelId); other names it reads relative to the working
// directory. Such folders are loaded by absolute path instead, which it reads as-is.
const HUB_ID = /^\b[\w\-.]{1,96}\b$/;
function isHubStyleName(name: string): boolean {
  return (
    HUB_ID.test(name) &&
    !name.includes('..') &&
    !name.includes('--') &&
    !/\.(git|ipynb)$/.test(name)
  );
}

/**
 * Checks that `path` is a model folder transformers.js can load offline and reads its config.
 * Throws ModelArtifactError naming the first missing or unreadable file.
 */
export async function inspectOnnxFolder(path: string): Promise<OnnxFolder> {
  const dir = resolve(path);
  let isDir = false;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch {
    throw new ModelArtifactError(`onnx model folder ${dir} does not exist`);
  }
  if (!isDir) throw new ModelArtifactError(`onnx model path ${dir} is not a folder`);

  for (const file of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) {
    if (!(await isFile(join(dir, file)))) {
      throw new ModelArtifactError(`onnx model folder ${dir} has no ${file}`);
    }
  }
  let config: unknown;
  try {
    config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
  } catch {
    throw new ModelArtifactError(`config.json in ${dir} is not valid JSON`);
  }
  if (!isRecord(config)) throw new ModelArtifactError(`config.json in ${dir} is not a JSON object`);

  const fp32 = join(dir, 'onnx', 'model.onnx');
  const q8 = join(dir, 'onnx', 'model_quantized.onnx');
  let modelFile: string;
  let dtype: OnnxFolder['dtype'];
  if (await isFile(fp32)) {
    modelFile = fp32;
    dtype = 'fp32';
  } else if (await isFile(q8)) {
    modelFile = q8;
    dtype = 'q8';
  } else {
    throw new ModelArtifactError(
      `onnx model folder ${dir} has neither onnx/model.onnx nor onnx/model_quantized.onnx`,
    );
  }
  const folderName = basename(dir);
  return {
    dir,
    parent: dirname(dir),
    name: isHubStyleName(folderName) ? folderName : dir,
    modelFile,
    dtype,
    config,
  };
}

function architectures(config: Readonly<Record<string, unknown>>): string[] {
  const value = config.architectures;
  return Array.isArray(value) ? value.filter((a): a is string => typeof a === 'string') : [];
}

/**
 * The task to serve: the declared one, or — when the config declares none — classification
 * for a `…ForSequenceClassification` folder and embedding otherwise.
 */
export function resolveTask(
  declared: OnnxTask | undefined,
  config: Readonly<Record<string, unknown>>,
): OnnxTask {
  if (declared !== undefined) return declared;
  return architectures(config).some((a) => a.endsWith('ForSequenceClassification'))
    ? 'classification'
    : 'embedding';
}

/** Labels and scoring of a classification folder, as its config declares them. */
export interface ClassificationHead {
  readonly labels: string[];
  readonly scoreFunction: ScoreFunction;
}

/**
 * Reads the classification head from config.json: `id2label` in index order, and sigmoid
 * scoring when `problem_type` is multi-label (as the Hugging Face pipeline does). Refuses a
 * folder whose config describes a bare encoder. Whether the ONNX graph really has a `logits`
 * output is checked after loading, by the backend.
 */
export function classificationHead(folder: OnnxFolder): ClassificationHead {
  const archs = architectures(folder.config);
  if (archs.length > 0 && !archs.some((a) => a.endsWith('ForSequenceClassification'))) {
    throw new ModelArtifactError(
      `onnx model folder ${folder.dir} has no classification head ` +
        `(architectures: ${archs.join(', ')}); use task 'embedding' or a *ForSequenceClassification export`,
    );
  }
  const labels = labelsFromId2Label(folder.config.id2label);
  if (labels === undefined) {
    throw new ModelArtifactError(
      `onnx model folder ${folder.dir} has no classification head: config.json needs id2label ` +
        `with keys 0..n-1`,
    );
  }
  const multi = folder.config.problem_type === 'multi_label_classification';
  return { labels, scoreFunction: multi ? 'sigmoid' : 'softmax' };
}

/** The encoder's width as config.json states it (BERT `hidden_size`, DistilBERT `dim`). */
export function declaredHiddenSize(config: Readonly<Record<string, unknown>>): number | undefined {
  for (const key of ['hidden_size', 'dim', 'd_model']) {
    const value = config[key];
    if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  }
  return undefined;
}
