// The shape of scripts/lib: rooms by concern with no import circle (type imports count: a circle
// of types is still a circle a reader has to hold), few files outside a room, and functions a
// reader can hold in their head.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import ts from 'typescript';
import { root } from '../lib/chart.ts';

const lib = join(root, 'scripts', 'lib');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Every relative import and re-export of a file, type-only ones included, as absolute paths. */
export function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;'"]*?from\s+'(\.[^']+\.ts)'/g), ...text.matchAll(/import\(\s*'(\.[^']+\.ts)'\s*\)/g)].map((m) => m[1] as string);
  return specs.map((s) => resolve(dirname(file), s));
}

/** The circles of a graph (one per strongly connected component with more than one node or a self-edge). */
export function circles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const stack: string[] = [];
  const on = new Set<string>();
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v) as number, idx.get(w) as number));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

const Shape = suite('the rooms of scripts/lib');

Shape('the circle finder finds a circle, and none in a line', () => {
  assert.equal(circles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]])), [['a', 'b', 'c']]);
  assert.equal(circles(new Map([['a', ['b']], ['b', ['c']], ['c', []]])), []);
});

Shape('the import graph of scripts/lib has no circle, type imports included', () => {
  const files = tsFiles(lib);
  const graph = new Map(files.map((f) => [f, importsOf(f).filter((t) => t.startsWith(lib))]));
  const found = circles(graph).map((c) => c.map((f) => relative(lib, f)).join(' → '));
  assert.equal(found, []);
});

Shape('scripts/lib holds at most 12 files outside its rooms', () => {
  const loose = readdirSync(lib).filter((n) => statSync(join(lib, n)).isFile());
  assert.ok(loose.length <= 12, loose.join(', '));
});

/** Functions longer than `max` lines in a file, with their names and first lines. */
function longFunctions(file: string, max: number): string[] {
  const src = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const out: string[] = [];
  const visit = (n: ts.Node) => {
    if (ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n) || ts.isArrowFunction(n) || ts.isFunctionExpression(n) || ts.isConstructorDeclaration(n)) {
      const first = src.getLineAndCharacterOfPosition(n.getStart()).line + 1;
      const lines = src.getLineAndCharacterOfPosition(n.getEnd()).line + 2 - first;
      const name = (n as { name?: ts.Node }).name?.getText(src) ?? '(anonymous)';
      if (lines > max) out.push(`${relative(root, file)}:${first} ${name}: ${lines} lines`);
    }
    ts.forEachChild(n, visit);
  };
  visit(src);
  return out;
}

Shape('no function in scripts/ is over 80 lines', () => {
  assert.equal(tsFiles(join(root, 'scripts')).flatMap((f) => longFunctions(f, 80)), []);
});

Shape('each entry point is under 80 lines', () => {
  const entries = readdirSync(join(root, 'scripts')).filter((n) => n.endsWith('.ts'));
  const long = entries.filter((n) => readFileSync(join(root, 'scripts', n), 'utf8').split('\n').length > 80);
  assert.equal(long, []);
});

Shape.run();
