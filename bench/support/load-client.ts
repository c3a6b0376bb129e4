/**
 * @module bench/support/load-client — a separate process that plays the HTTP clients (keep-alive,
 * one connection per request in flight: node:http for embeddings — the leanest client Node has,
 * so the load process takes as little of a small machine as it can — and fetch for SSE
 * streams), so that the server's event loop and CPU time are its own and the client's cost is
 * measured apart. Started by
 * `http-load.ts` over IPC: one `LoadJob` in, one `LoadReply` out. Talks only to the URL it is
 * given (127.0.0.1) and stops by itself when the time box ends.
 */
import { Agent, request } from 'node:http';
import { runClients, type LoopResult, type Outcome } from './clients.js';

/** What the load process is asked to do. */
export interface LoadJob {
  /** `embed`: POST /v1/embeddings, JSON answer. `chat`: streamed chat completion (SSE). */
  kind: 'embed' | 'chat';
  url: string;
  authorization: string;
  /** JSON request bodies, used round-robin (client c's i-th request takes c + i × width). */
  bodies: string[];
  width: number;
  ms: number;
}

/** The load process's answer: the run, and its own CPU time (user + system), µs. */
export type LoadReply = { result: LoopResult; cpuUs: number } | { error: string };

interface EmbeddingAnswer {
  data: { embedding: number[] | string }[];
}

interface ChunkAnswer {
  choices?: { delta?: { content?: string } }[];
  usage?: { completion_tokens: number };
  error?: { message: string };
}

async function post(job: LoadJob, body: string): Promise<Response> {
  const res = await fetch(job.url, {
    method: 'POST',
    headers: { authorization: job.authorization, 'content-type': 'application/json' },
    body,
  });
  if (res.status !== 200) {
    throw new Error(`${job.url} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
  }
  return res;
}

/** One keep-alive agent per client count, reused by every job of that width. */
const agents = new Map<number, Agent>();

/** POSTs `body` on a keep-alive agent with `width` sockets; resolves with the 200 answer's text. */
function postText(job: LoadJob, body: string): Promise<string> {
  let agent = agents.get(job.width);
  if (agent === undefined) {
    agent = new Agent({ keepAlive: true, maxSockets: job.width });
    agents.set(job.width, agent);
  }
  return new Promise((resolve, reject) => {
    const req = request(
      job.url,
      {
        method: 'POST',
        agent,
        headers: {
          authorization: job.authorization,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (b: Buffer) => parts.push(b));
        res.on('end', () => {
          const text = Buffer.concat(parts).toString('utf8');
          if (res.statusCode !== 200)
            reject(
              new Error(`${job.url} answered ${String(res.statusCode)}: ${text.slice(0, 200)}`),
            );
          else resolve(text);
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function embedOnce(job: LoadJob, body: string): Promise<Outcome> {
  const answer = JSON.parse(await postText(job, body)) as EmbeddingAnswer;
  const first = answer.data[0]?.embedding;
  if (first === undefined || first.length === 0) throw new Error('no embedding in the answer');
  return { units: answer.data.length };
}

/** Reads an SSE stream of chat chunks: content chunks, time to the first, and usage. */
async function chatOnce(job: LoadJob, body: string): Promise<Outcome> {
  const sent = performance.now();
  const res = await post(job, body);
  if (res.body === null) throw new Error('no response body');
  const decoder = new TextDecoder();
  let buffer = '';
  let chunks = 0;
  let ttftMs: number | undefined;
  let tokens: number | undefined;
  let done = false;
  const reader: ReadableStreamDefaultReader<Uint8Array> = res.body.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    buffer += decoder.decode(read.value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (!event.startsWith('data: ')) continue;
      const data = event.slice(6);
      if (data === '[DONE]') {
        done = true;
        continue;
      }
      const chunk = JSON.parse(data) as ChunkAnswer;
      if (chunk.error !== undefined) throw new Error(`stream error: ${chunk.error.message}`);
      if ((chunk.choices?.[0]?.delta?.content ?? '') !== '') {
        ttftMs ??= performance.now() - sent;
        chunks++;
      }
      if (chunk.usage !== undefined) tokens = chunk.usage.completion_tokens;
    }
  }
  if (!done || tokens === undefined) throw new Error('stream ended without usage and [DONE]');
  return { units: tokens, chunks, ...(ttftMs === undefined ? {} : { ttftMs }) };
}

async function run(job: LoadJob): Promise<LoadReply> {
  const once = job.kind === 'embed' ? embedOnce : chatOnce;
  const n = job.bodies.length;
  const cpu = process.cpuUsage();
  const result = await runClients(job.width, job.ms, (c, i) =>
    once(job, job.bodies[(c + i * job.width) % n] ?? ''),
  );
  const used = process.cpuUsage(cpu);
  return { result, cpuUs: used.user + used.system };
}

const send = (reply: LoadReply): void => {
  process.send?.(reply);
};

if (process.send === undefined) throw new Error('load-client must be started with an IPC channel');
process.on('message', (job: LoadJob) => {
  run(job).then(send, (err: unknown) => {
    send({ error: err instanceof Error ? err.message : String(err) });
  });
});
process.on('disconnect', () => {
  process.exit(0);
});
