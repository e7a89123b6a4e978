// Splits a stream of concatenated JSON values into whole values as the text arrives: what
// `kubectl get --watch --output json` prints (one pretty-printed object after another, nothing in
// between) and `--output-watch-events` prints (one compact event per line) both come through it.

import { UserError } from './errors.ts';

const NOT_KUBECTL_JSON = 'That is not what a real kubectl prints for --output json; check which kubectl is first on PATH (kubectl version --client).';

/** Feed it text in any pieces; it hands back every value completed so far. */
export class JsonStream {
  private buffer = '';
  /** Where scanning stopped in `buffer`, and the scanner's state there, so no byte is read twice. */
  private scanned = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;

  push(text: string): unknown[] {
    this.buffer += text;
    const values: unknown[] = [];
    let start = this.firstNonSpace(0);
    if (this.depth === 0 && !this.inString) this.scanned = Math.max(this.scanned, start);
    for (let i = this.scanned; i < this.buffer.length; i++) {
      const ch = this.buffer[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (ch === '\\') this.escaped = true;
        else if (ch === '"') this.inString = false;
        continue;
      }
      if (ch === '"') this.inString = true;
      else if (ch === '{' || ch === '[') this.depth++;
      else if (ch === '}' || ch === ']') {
        this.depth--;
        if (this.depth === 0) {
          const raw = this.buffer.slice(start, i + 1);
          try {
            values.push(JSON.parse(raw));
          } catch {
            throw new UserError(`kubectl printed something that is not JSON: ${raw.slice(0, 200)}`, NOT_KUBECTL_JSON);
          }
          start = this.firstNonSpace(i + 1);
          i = start - 1;
        }
      } else if (this.depth === 0 && !/\s/.test(ch ?? '')) {
        throw new UserError(`kubectl printed something that is not a JSON object: ${this.buffer.slice(i, i + 200)}`, NOT_KUBECTL_JSON);
      }
    }
    this.buffer = this.buffer.slice(start);
    this.scanned = this.buffer.length;
    return values;
  }

  /** True when a value has begun but not ended (kubectl stopped in the middle of one). */
  pending(): boolean {
    return this.buffer.trim().length > 0;
  }

  private firstNonSpace(from: number): number {
    let i = from;
    while (i < this.buffer.length && /\s/.test(this.buffer[i] ?? '')) i++;
    return i;
  }
}
