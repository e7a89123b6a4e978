// The scripted model server's rule mode (serve), which load benches use: answers chosen per request, counted, not kept.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { call, startFakeModel, text, tools } from '../lib/fake-model.ts';

const Rule = suite('fake model: serve(rule)');

type Chunk = {
  choices: Array<{
    delta: { content?: string | null; tool_calls?: Array<{ id?: string; function?: { name?: string } }> };
    finish_reason: string | null;
  }>;
};
const choice = (c: Chunk) => c.choices[0]!;

/** Sends a streamed chat-completions request and returns its data lines, parsed, without [DONE]. */
async function complete(url: string, messages: Array<Record<string, unknown>>): Promise<Chunk[]> {
  const res = await fetch(`${url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'm', stream: true, messages }),
  });
  assert.is(res.status, 200);
  const lines = (await res.text()).split('\n').filter((l) => l.startsWith('data: ') && l !== 'data: [DONE]');
  return lines.map((l) => JSON.parse(l.slice(6)) as Chunk);
}

Rule('answers each request by what it holds, with the tool call id the rule chose', async () => {
  const model = await startFakeModel();
  try {
    model.serve((body) => (body.messages?.at(-1)?.role === 'tool' ? text('done') : tools({ ...call('list_tasks', {}), id: 'call_fixed' })));
    const first = await complete(model.url, [{ role: 'user', content: 'list' }]);
    const pieces = first.flatMap((c) => choice(c).delta.tool_calls ?? []);
    assert.is(pieces[0]?.id, 'call_fixed');
    assert.is(pieces[0]?.function?.name, 'list_tasks');
    assert.is(choice(first.at(-1)!).finish_reason, 'tool_calls');
    const second = await complete(model.url, [{ role: 'user', content: 'list' }, { role: 'tool', tool_call_id: 'call_fixed', content: '{}' }]);
    assert.is(second.map((c) => choice(c).delta.content ?? '').join(''), 'done');
    assert.is(model.served, 2);
    assert.equal(model.requests, [], 'bodies are not kept under load');
    assert.equal(model.unexpected, []);
  } finally {
    await model.stop();
  }
});

Rule('play() goes back to a script that records its requests', async () => {
  const model = await startFakeModel();
  try {
    model.serve(() => text('from the rule'));
    model.play(text('from the script'));
    const chunks = await complete(model.url, [{ role: 'user', content: 'hi' }]);
    assert.is(chunks.map((c) => choice(c).delta.content ?? '').join(''), 'from the script');
    assert.is(model.requests.length, 1);
  } finally {
    await model.stop();
  }
});

Rule.run();
