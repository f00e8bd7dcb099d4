import jsonata from 'jsonata';

/**
 * Checks a JSONata expression's variables and paths against what is bound where it runs,
 * by walking its syntax tree. It reports only what is certainly wrong: a variable that is
 * bound nowhere, a field a closed schema does not declare. Whatever it cannot know (a
 * variable bound inside the expression, a lambda's input, a path after a function call)
 * is left unchecked, never guessed at.
 */

/** A JSON Schema node, and what it describes for messages, e.g. "the review.created event". */
export interface ShapeNode {
  schema: Record<string, unknown>;
  of: string;
}

/** What a value may be: any of these nodes. null: unknown, nothing about it is checked. */
export type Shape = ShapeNode[] | null;

export interface Scope {
  /** The expression's input ($ and $$). */
  input: Shape;
  /** The variables bound where it runs, with their shapes. */
  variables: ReadonlyMap<string, Shape>;
  /** Where it runs, for messages: "a trigger's mapping". */
  where: string;
}

export interface ExpressionProblem {
  /** Offset in the source where the wrong name starts. */
  offset: number;
  message: string;
}

/** JSONata's own functions (jsonata 2.x) and the sandbox's $md5, $tweetText and $parseJson, always bound. */
const BUILTINS = new Set(
  ('md5 parseJson abs append assert average base64decode base64encode boolean ceil clone contains count decodeUrl decodeUrlComponent distinct each ' +
    'encodeUrl encodeUrlComponent error eval exists filter floor formatBase formatInteger formatNumber fromMillis join keys length lookup ' +
    'lowercase map match max merge millis min not now number pad parseInteger power random reduce replace reverse round shuffle sift single ' +
    'sort split spread sqrt string substring substringAfter substringBefore sum toMillis trim tweetText type uppercase zip').split(' '),
);

/** Keys of a node whose expressions run on the node's own input; the others (predicates, sort terms, lambda bodies) do not. */
const SAME_INPUT = new Set(['expressions', 'lhs', 'rhs', 'condition', 'then', 'else', 'arguments', 'expression', 'pattern']);

/** Schema keywords after which the fields of an object can no longer be told from `properties`. */
const OPAQUE = ['$ref', '$dynamicRef', 'allOf', 'anyOf', 'oneOf', 'if', 'not', 'patternProperties', 'dependentSchemas', 'unevaluatedProperties'];

const SCALARS = new Set(['string', 'number', 'integer', 'boolean', 'null']);

type AstNode = Record<string, unknown> & { type?: string; value?: unknown; position?: number };

/** The problems of one expression; none when it does not parse (the compiler reports that). */
export function expressionProblems(source: string, scope: Scope): ExpressionProblem[] {
  let ast: AstNode;
  try {
    ast = jsonata(source).ast() as AstNode;
  } catch {
    return [];
  }
  const walker = new Walker(scope, localNames(ast));
  walker.walk(ast, scope.input);
  return walker.problems;
}

class Walker {
  readonly problems: ExpressionProblem[] = [];

  constructor(
    private readonly scope: Scope,
    private readonly locals: ReadonlySet<string>,
  ) {}

  walk(node: unknown, input: Shape): void {
    if (Array.isArray(node)) {
      for (const n of node) this.walk(n, input);
      return;
    }
    if (!isNode(node)) return;
    switch (node.type) {
      case 'path':
        this.path(node, input);
        return;
      case 'variable':
        this.variable(node, input);
        return;
      case 'bind':
        this.walk(node['rhs'], input);
        return;
      case 'lambda':
        // A lambda's body runs on whatever input it is called with.
        this.walk(node['body'], null);
        return;
      case 'function':
      case 'partial':
        this.walk(node['procedure'], input);
        this.walk(node['arguments'], input);
        return;
      default:
        for (const [key, value] of Object.entries(node)) {
          if (key === 'type' || key === 'value' || key === 'position') continue;
          this.walk(value, SAME_INPUT.has(key) ? input : null);
        }
    }
  }

  /** A variable: bound here, bound inside the expression, or one of JSONata's functions. */
  private variable(node: AstNode, input: Shape): Shape {
    const name = String(node.value);
    if (name === '') return input;
    if (name === '$') return this.scope.input;
    if (this.locals.has(name)) return null;
    if (this.scope.variables.has(name)) return this.scope.variables.get(name) ?? null;
    if (BUILTINS.has(name)) return null;
    const bound = [...this.scope.variables.keys()];
    const guess = closest(name, [...bound, ...this.locals, ...BUILTINS]);
    const hint = guess !== null ? `; did you mean $${guess}?` : ` (bound there: ${bound.map((b) => `$${b}`).join(', ') || 'nothing'})`;
    this.report(node, name.length + 1, `$${name} is not bound in ${this.scope.where}${hint}`);
    return null;
  }

  /** A path: each name step is looked up in the shape the step before gave. */
  private path(node: AstNode, input: Shape): void {
    const steps = Array.isArray(node['steps']) ? (node['steps'] as unknown[]) : [];
    let shape: Shape = input;
    let text = '';
    steps.forEach((raw, i) => {
      if (!isNode(raw)) return;
      const step = raw;
      if (step.type === 'name') {
        const name = String(step.value);
        shape = this.field(shape, step, text, name);
        text = text === '' ? name : `${text}.${name}`;
      } else if (step.type === 'variable' && i === 0) {
        shape = this.variable(step, input);
        text = step.value === '' ? '$' : `$${String(step.value)}`;
      } else {
        // Any other step (a call, a block, an object, a wildcard) runs on each item of the one before; what it gives is not known.
        this.walk(stripStages(step), i === 0 ? input : items(shape));
        shape = null;
      }
      // A predicate ([...]) runs on each item of its step.
      if (Array.isArray(step['stages'])) for (const stage of step['stages'] as AstNode[]) this.walk(isNode(stage) ? stage['expr'] : null, items(shape));
      this.walk(step['group'], null);
      // A focus (@$x) keeps the context of the step before: the steps after it are not checked.
      if (step['focus'] !== undefined) shape = null;
    });
    this.walk(node['group'], null);
  }

  /** The shape of `name` in `shape`; reports when no node of it can have that field. */
  private field(shape: Shape, step: AstNode, parent: string, name: string): Shape {
    if (shape === null) return null;
    const found: ShapeNode[] = [];
    const declared = new Set<string>();
    const scalars: string[] = [];
    let open = false;
    for (const node of expandArrays(shape)) {
      if (node === null) return null;
      const child = fieldOf(node, name);
      if (child === 'unknown') return null;
      if (child === 'absent' || child === 'undeclared') {
        open ||= child === 'undeclared';
        const props = node.schema['properties'];
        if (props !== null && typeof props === 'object') Object.keys(props).forEach((k) => declared.add(k));
        else scalars.push(`${describeType(node.schema['type'])} (${node.of})`);
        continue;
      }
      found.push(child);
    }
    if (found.length > 0) return found;
    const full = parent === '' ? name : `${parent}.${name}`;
    const of = [...new Set(shape.map((n) => n.of))].join('; ');
    if (scalars.length > 0 && declared.size === 0) {
      this.report(step, name.length, `${full}: ${parent || '$'} is ${scalars.join(' or ')}, which has no field "${name}"`);
    } else {
      // A schema that allows more fields than it declares may get this one; only a slip of the keyboard is certainly wrong.
      const guess = closest(name, [...declared], open ? (name.length <= 4 ? 1 : 2) : undefined);
      if (open && guess === null) return null;
      const hint = guess !== null ? `; did you mean "${guess}"?` : declared.size > 0 && declared.size <= 12 ? `; it has: ${[...declared].join(', ')}` : '';
      this.report(step, name.length, `${full}: "${name}" is not a field of ${parent || 'the input'} (${of})${hint}`);
    }
    return null;
  }

  /** `length` is the token's length; AST positions point just past the token (past a closing backtick too). */
  private report(node: AstNode, length: number, message: string): void {
    const end = typeof node.position === 'number' ? node.position : length;
    this.problems.push({ offset: Math.max(0, end - length), message });
  }
}

/**
 * A field of one schema node: its node; "absent" when the node certainly lacks it; "undeclared" when
 * its schema does not declare it but allows fields it does not declare; "unknown" when it cannot tell.
 */
function fieldOf(node: ShapeNode, name: string): ShapeNode | 'absent' | 'undeclared' | 'unknown' {
  const schema = node.schema;
  if (OPAQUE.some((k) => k in schema)) return 'unknown';
  const props = schema['properties'];
  if (props !== null && typeof props === 'object') {
    if (Object.hasOwn(props, name)) {
      const child = (props as Record<string, unknown>)[name];
      return child !== null && typeof child === 'object' ? { ...node, schema: child as Record<string, unknown> } : 'unknown';
    }
  }
  const extra = schema['additionalProperties'];
  if (extra !== null && typeof extra === 'object') return { ...node, schema: extra as Record<string, unknown> };
  if (props !== null && typeof props === 'object') return extra === false ? 'absent' : 'undeclared';
  const type = schema['type'];
  const types = Array.isArray(type) ? type : [type];
  return type !== undefined && types.every((t) => SCALARS.has(String(t))) ? 'absent' : 'unknown';
}

/** JSONata maps a path over an array: a field of an array is the field of its items. null: an item whose shape is not known. */
function expandArrays(shape: ShapeNode[]): Array<ShapeNode | null> {
  const out: Array<ShapeNode | null> = [];
  for (const node of shape) {
    const type = node.schema['type'];
    if (type === 'array') {
      const itemSchema = node.schema['items'];
      if (itemSchema !== null && typeof itemSchema === 'object') out.push(...expandArrays([{ ...node, schema: itemSchema as Record<string, unknown> }]));
      else out.push(null);
    } else if (Array.isArray(type) && type.includes('array')) out.push(null);
    else out.push(node);
  }
  return out;
}

/** The shape a predicate sees: each item of the step it filters. */
function items(shape: Shape): Shape {
  if (shape === null) return null;
  const out = expandArrays(shape);
  return out.some((n) => n === null) ? null : (out as ShapeNode[]);
}

function stripStages(step: AstNode): AstNode {
  const { stages: _stages, group: _group, ...rest } = step;
  return rest;
}

function describeType(type: unknown): string {
  const t = Array.isArray(type) ? type.join(' or ') : String(type);
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}

/** Names bound inside the expression (:=, lambda parameters, @$x, #$i): their shapes are not known, and they are never reported. */
function localNames(ast: unknown): Set<string> {
  const names = new Set<string>();
  const stack: unknown[] = [ast];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      stack.push(...(node as unknown[]));
      continue;
    }
    if (!isNode(node)) continue;
    if (node.type === 'bind' && isNode(node['lhs']) && node['lhs'].type === 'variable') names.add(String(node['lhs'].value));
    if (node.type === 'lambda' && Array.isArray(node['arguments'])) for (const a of node['arguments'] as AstNode[]) names.add(String(a.value));
    if (typeof node['focus'] === 'string') names.add(node['focus']);
    if (typeof node['index'] === 'string') names.add(node['index']);
    for (const value of Object.values(node)) if (value !== null && typeof value === 'object') stack.push(value);
  }
  return names;
}

function isNode(value: unknown): value is AstNode {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && typeof (value as AstNode).type === 'string';
}

/** The candidate nearest to `name` by edit distance, when near enough to be a slip of the keyboard. */
export function closest(name: string, candidates: Iterable<string>, maxDistance = Math.max(2, Math.floor(name.length / 3))): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const c of candidates) {
    if (c === name) continue;
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== null && bestDistance <= maxDistance ? best : null;
}

/** Edit distance counting a swap of two neighbouring letters as one edit (optimal string alignment). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => d[i]?.[j] ?? 0;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = best;
    }
  }
  return at(a.length, b.length);
}
