/**
 * A PromQL reader for the dashboard test: parses an expression (the grammar of Prometheus's
 * own parser, for the constructs dashboards use: selectors with matchers, ranges and
 * subqueries, offset, functions, aggregations with by/without, binary operators with bool,
 * on/ignoring and group_left/right) and returns the vector selectors it names. It throws on
 * anything it cannot parse, so a typo in a dashboard query fails the test rather than being
 * skipped. Grafana's variables are replaced by values of the right kind first.
 */

export interface Selector {
  /** The metric name; undefined for a bare {__name__=...} selector. */
  metric: string | undefined;
  matchers: Array<{ label: string; op: string; value: string }>;
}

const AGGREGATIONS = new Set(['sum', 'avg', 'min', 'max', 'count', 'stddev', 'stdvar', 'group', 'topk', 'bottomk', 'quantile', 'count_values', 'limitk', 'limit_ratio']);
const PARAMETERISED = new Set(['topk', 'bottomk', 'quantile', 'count_values', 'limitk', 'limit_ratio']);
const FUNCTIONS = new Set([
  'abs', 'absent', 'absent_over_time', 'avg_over_time', 'ceil', 'changes', 'clamp', 'clamp_max', 'clamp_min', 'count_over_time',
  'day_of_month', 'day_of_week', 'day_of_year', 'days_in_month', 'delta', 'deriv', 'exp', 'floor', 'histogram_avg', 'histogram_count',
  'histogram_fraction', 'histogram_quantile', 'histogram_stddev', 'histogram_stdvar', 'histogram_sum', 'holt_winters', 'hour', 'idelta',
  'increase', 'irate', 'label_join', 'label_replace', 'last_over_time', 'ln', 'log10', 'log2', 'max_over_time', 'min_over_time', 'minute',
  'month', 'predict_linear', 'present_over_time', 'quantile_over_time', 'rate', 'resets', 'round', 'scalar', 'sgn', 'sort', 'sort_desc',
  'sqrt', 'stddev_over_time', 'stdvar_over_time', 'sum_over_time', 'time', 'timestamp', 'vector', 'year',
]);
const BINARY = ['==', '!=', '>=', '<=', '>', '<', '+', '-', '*', '/', '%', '^', 'and', 'or', 'unless', 'atan2'];

/** Grafana's built-in interval variables become durations; template variables in label values stay (they sit in strings). */
export function substituteGrafanaVariables(expr: string): string {
  return expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '5m');
}

type Token = { kind: 'ident' | 'number' | 'string' | 'duration' | 'op' | 'punct'; text: string; at: number };

function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(?:(?<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)|(?<duration>\d+(?:ms|s|m|h|d|w|y)(?:\d+(?:ms|s|m|h|d|w|y))*)(?![\w.])|(?<number>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|0x[0-9a-fA-F]+|Inf|NaN)(?![\w:])|(?<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)|(?<op>==|!=|>=|<=|=~|!~|[-+*/%^<>=])|(?<punct>[(){}[\],:@]))/y;
  let at = 0;
  while (at < expr.length) {
    if (/^\s*$/.test(expr.slice(at))) break;
    re.lastIndex = at;
    const m = re.exec(expr);
    if (!m || m.index !== at) throw new Error(`PromQL: cannot read '${expr.slice(at, at + 20)}' at ${at} in: ${expr}`);
    const g = m.groups!;
    const kind = (['string', 'duration', 'number', 'ident', 'op', 'punct'] as const).find((k) => g[k] !== undefined)!;
    tokens.push({ kind, text: g[kind]!, at });
    at = re.lastIndex;
  }
  return tokens;
}

class Parser {
  private i = 0;
  readonly selectors: Selector[] = [];

  constructor(
    private readonly tokens: Token[],
    private readonly source: string,
  ) {}

  private peek(offset = 0): Token | undefined {
    return this.tokens[this.i + offset];
  }

  private fail(what: string): never {
    const t = this.peek();
    throw new Error(`PromQL: expected ${what} ${t ? `at '${t.text}' (${t.at})` : 'at the end'} in: ${this.source}`);
  }

  private take(text?: string, kind?: Token['kind']): Token {
    const t = this.peek();
    if (!t || (text !== undefined && t.text !== text) || (kind !== undefined && t.kind !== kind)) this.fail(text ?? kind ?? 'a token');
    this.i++;
    return t;
  }

  private is(text: string): boolean {
    return this.peek()?.text === text;
  }

  parseAll(): void {
    this.expr(0);
    if (this.peek()) this.fail('the end of the expression');
  }

  private precedence(t: Token | undefined): number {
    if (!t) return -1;
    const p: Record<string, number> = { or: 1, and: 2, unless: 2, '==': 3, '!=': 3, '<=': 3, '<': 3, '>=': 3, '>': 3, '+': 4, '-': 4, '*': 5, '/': 5, '%': 5, atan2: 5, '^': 6 };
    return BINARY.includes(t.text) && (t.kind === 'op' || t.kind === 'ident') ? p[t.text]! : -1;
  }

  private expr(minPrecedence: number): void {
    this.unary();
    for (;;) {
      const prec = this.precedence(this.peek());
      if (prec < minPrecedence || prec < 0) return;
      this.i++;
      if (this.is('bool')) this.i++;
      if (this.is('on') || this.is('ignoring')) {
        this.i++;
        this.labelList();
      }
      if (this.is('group_left') || this.is('group_right')) {
        this.i++;
        if (this.is('(')) this.labelList();
      }
      // ^ is right-associative; the others left.
      this.expr(prec === 6 ? prec : prec + 1);
    }
  }

  private unary(): void {
    if (this.is('-') || this.is('+')) this.i++;
    this.postfix();
  }

  private postfix(): void {
    this.primary();
    for (;;) {
      if (this.is('[')) {
        this.i++;
        this.take(undefined, 'duration');
        if (this.is(':')) {
          this.i++;
          if (this.peek()?.kind === 'duration') this.i++;
        }
        this.take(']');
      } else if (this.is('offset')) {
        this.i++;
        if (this.is('-')) this.i++;
        this.take(undefined, 'duration');
      } else if (this.is('@')) {
        this.i++;
        if (this.peek()?.kind === 'number') this.i++;
        else {
          this.take(undefined, 'ident');
          this.take('(');
          this.take(')');
        }
      } else return;
    }
  }

  private labelList(): string[] {
    const labels: string[] = [];
    this.take('(');
    while (!this.is(')')) {
      labels.push(this.take(undefined, 'ident').text);
      if (!this.is(')')) this.take(',');
    }
    this.take(')');
    return labels;
  }

  private primary(): void {
    const t = this.peek() ?? this.fail('an expression');
    if (t.kind === 'number' || t.kind === 'string') {
      this.i++;
      return;
    }
    if (t.text === '(') {
      this.i++;
      this.expr(0);
      this.take(')');
      return;
    }
    if (t.text === '{') {
      this.selector(undefined);
      return;
    }
    if (t.kind !== 'ident') this.fail('an expression');
    if (AGGREGATIONS.has(t.text) && (this.peek(1)?.text === '(' || this.peek(1)?.text === 'by' || this.peek(1)?.text === 'without')) {
      this.i++;
      if (this.is('by') || this.is('without')) {
        this.i++;
        this.labelList();
      }
      this.take('(');
      if (PARAMETERISED.has(t.text)) {
        this.expr(0);
        this.take(',');
      }
      this.expr(0);
      this.take(')');
      if (this.is('by') || this.is('without')) {
        this.i++;
        this.labelList();
      }
      return;
    }
    if (this.peek(1)?.text === '(') {
      if (!FUNCTIONS.has(t.text)) this.fail(`a known function (not '${t.text}')`);
      this.i += 2;
      while (!this.is(')')) {
        this.expr(0);
        if (!this.is(')')) this.take(',');
      }
      this.take(')');
      return;
    }
    this.i++;
    this.selector(t.text);
  }

  private selector(metric: string | undefined): void {
    const matchers: Selector['matchers'] = [];
    if (this.is('{')) {
      this.i++;
      while (!this.is('}')) {
        const label = this.take(undefined, 'ident').text;
        const op = this.take(undefined, 'op').text;
        if (!['=', '!=', '=~', '!~'].includes(op)) this.fail('a label matcher operator');
        const value = this.take(undefined, 'string').text.slice(1, -1);
        matchers.push({ label, op, value });
        if (!this.is('}')) this.take(',');
      }
      this.take('}');
    }
    const name = metric ?? matchers.find((m) => m.label === '__name__' && m.op === '=')?.value;
    this.selectors.push({ metric: name, matchers });
  }
}

/** The vector selectors of `expr` (after Grafana's variables are substituted); throws if it does not parse. */
export function promqlSelectors(expr: string): Selector[] {
  const source = substituteGrafanaVariables(expr);
  const parser = new Parser(tokenize(source), source);
  parser.parseAll();
  return parser.selectors;
}
