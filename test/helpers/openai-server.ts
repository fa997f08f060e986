/**
 * A local OpenAI-compatible server that speaks the chat-completions wire format to the real
 * openai SDK: each test scripts its replies (tool calls, answers, errors) and reads back every
 * request the SDK sent.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ChatRequest {
  model: string;
  messages: { role: string; content: string | null; tool_calls?: { id: string; function: { name: string; arguments: string } }[]; tool_call_id?: string }[];
  tools?: { function: { name: string } }[];
  tool_choice?: string;
  authorization?: string;
}

export type Reply =
  | { toolCalls: { name: string; arguments: string }[]; usage?: [number, number] }
  | { content: string; usage?: [number, number] }
  | { status: number; error: { message: string; type?: string; code?: string }; headers?: Record<string, string> };

export interface FakeOpenAI {
  baseURL: string;
  requests: ChatRequest[];
  close(): Promise<void>;
}

/** Serves replies in order; `next` may look at the request to decide. */
export async function startFakeOpenAI(next: (req: ChatRequest, n: number) => Reply, modelsKey = ''): Promise<FakeOpenAI> {
  const requests: ChatRequest[] = [];
  let calls = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (req.method === 'GET' && req.url === '/v1/models') {
        const ok = req.headers.authorization === `Bearer ${modelsKey}`;
        res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end(JSON.stringify(ok ? { object: 'list', data: [{ id: 'test-model', object: 'model' }] } : { error: { message: 'bad key' } }));
        return;
      }
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }));
        return;
      }
      const parsed = JSON.parse(body) as ChatRequest;
      parsed.authorization = req.headers.authorization;
      requests.push(parsed);
      const reply = next(parsed, calls++);
      if ('status' in reply) {
        res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers }).end(JSON.stringify({ error: reply.error }));
        return;
      }
      const [prompt, completion] = reply.usage ?? [100, 20];
      const message =
        'toolCalls' in reply
          ? { role: 'assistant', content: null, tool_calls: reply.toolCalls.map((t, i) => ({ id: `call_${calls}_${i}`, type: 'function', function: t })) }
          : { role: 'assistant', content: reply.content };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
        id: `chatcmpl-${calls}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: parsed.model,
        choices: [{ index: 0, message, finish_reason: 'toolCalls' in reply ? 'tool_calls' : 'stop', logprobs: null }],
        usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
      }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** The tool results the SDK sent back in a request, by tool call id order. */
export function toolResults(req: ChatRequest): unknown[] {
  return req.messages.filter((m) => m.role === 'tool').map((m) => JSON.parse(m.content ?? 'null'));
}
