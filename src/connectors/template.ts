import { compileJsonata } from '../core/jsonata';
import type { CompiledExpression } from '../core/jsonata';

/** Where a template's placeholder values go, which decides how they are escaped. */
export type TemplateMode = 'raw' | 'path';

/**
 * A string with {{ JSONata }} placeholders, compiled once. A template that is one
 * placeholder and nothing else yields the value itself, unescaped.
 */
export class Template {
  private readonly parts: Array<string | CompiledExpression>;

  constructor(
    readonly source: string,
    private readonly mode: TemplateMode = 'raw',
  ) {
    this.parts = [];
    const pattern = /\{\{(.*?)\}\}/gs;
    let last = 0;
    for (const match of source.matchAll(pattern)) {
      if (match.index > last) this.parts.push(source.slice(last, match.index));
      const expression = (match[1] ?? '').trim();
      if (expression === '') throw new Error(`empty placeholder {{ }} at offset ${match.index}`);
      this.parts.push(compileJsonata(expression));
      last = match.index + match[0].length;
    }
    if (last < source.length) this.parts.push(source.slice(last));
  }

  /** `maxValueLength`: each placeholder's value is cut to this many characters (text from a response, in a message). */
  async render(input: unknown, bindings: Record<string, unknown>, maxValueLength?: number): Promise<string> {
    let out = '';
    const whole = this.parts.length === 1;
    for (const part of this.parts) {
      if (typeof part === 'string') {
        out += part;
        continue;
      }
      const value = await part.evaluate(input, bindings);
      let text = value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value);
      if (maxValueLength !== undefined && text.length > maxValueLength) text = `${text.slice(0, maxValueLength - 1)}…`;
      out += this.mode === 'path' && !whole ? encodeURIComponent(text) : text;
    }
    return out;
  }
}
