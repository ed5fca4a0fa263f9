// Command syntax, written once the way Redis's help shows it
// ("key value [NX|XX] [EX seconds|KEEPTTL]"), turned into the argument
// tree of COMMAND DOCS: redis-cli 7 builds its inline hints from that tree.
//
// Grammar: UPPER words are tokens, lower words are arguments ("key" is a key;
// names in `integerNames` are integers), [ ] is optional, | separates
// alternatives (a oneof), "..." after an element repeats it, and a token
// followed by one argument ("EX seconds") is that argument with a token.

import { MapReply, SimpleReply, type Reply } from '../resp/reply.js';

export interface ArgumentDoc {
  name: string;
  type: 'key' | 'string' | 'integer' | 'pattern' | 'unix-time' | 'pure-token' | 'oneof' | 'block';
  token?: string;
  optional?: boolean;
  multiple?: boolean;
  arguments?: ArgumentDoc[];
}

const integerNames = new Set(['seconds', 'milliseconds', 'offset', 'start', 'end', 'count', 'cursor', 'index', 'protover', 'r', 'w']);
const unixTimeNames = new Set(['unix-time-seconds', 'unix-time-milliseconds']);

function tokenize(syntax: string): string[] {
  return syntax.replace(/([[\]|])/g, ' $1 ').split(/\s+/).filter((t) => t.length > 0);
}

function word(text: string): ArgumentDoc {
  if (text !== text.toLowerCase()) return { name: text.toLowerCase(), type: 'pure-token', token: text };
  if (text === 'key') return { name: 'key', type: 'key' };
  if (text === 'pattern') return { name: 'pattern', type: 'pattern' };
  if (integerNames.has(text)) return { name: text, type: 'integer' };
  if (unixTimeNames.has(text)) return { name: text, type: 'unix-time' };
  return { name: text, type: 'string' };
}

/** A sequence of elements as one argument: a token plus its value, a single element, or a block. */
function group(items: ArgumentDoc[]): ArgumentDoc {
  if (items.length === 1) return items[0]!;
  const [first, second] = items;
  if (items.length === 2 && first!.type === 'pure-token' && second!.type !== 'pure-token' && second!.type !== 'oneof') {
    return { ...second!, token: first!.token! };
  }
  return { name: items.map((i) => i.name).join('-'), type: 'block', arguments: items };
}

class Reader {
  private i = 0;
  /** "[key value ...]": the ellipsis closing a group repeats the whole group. */
  private repeatGroup = false;
  constructor(private readonly tokens: string[]) {}

  /** Alternatives separated by |, up to `]` or the end. */
  alternatives(): ArgumentDoc {
    const options: ArgumentDoc[] = [this.option()];
    while (this.tokens[this.i] === '|') {
      this.i++;
      options.push(this.option());
    }
    return options.length === 1 ? options[0]! : { name: options.map((o) => o.name).join('-or-'), type: 'oneof', arguments: options };
  }

  private option(): ArgumentDoc {
    const grouped = group(this.sequence());
    if (!this.repeatGroup) return grouped;
    this.repeatGroup = false;
    return { ...grouped, multiple: true };
  }

  sequence(): ArgumentDoc[] {
    const items: ArgumentDoc[] = [];
    for (;;) {
      const t = this.tokens[this.i];
      if (t === undefined || t === ']' || t === '|') return items;
      this.i++;
      if (t === '...') {
        const next = this.tokens[this.i];
        const last = items[items.length - 1];
        if (items.length > 1 && (next === ']' || next === undefined)) this.repeatGroup = true;
        else if (last !== undefined) last.multiple = true;
      } else if (t === '[') {
        const inner = this.alternatives();
        this.i++; // ']'
        if (!repeats(items, inner)) items.push({ ...inner, optional: true });
      } else {
        items.push(word(t));
      }
    }
  }
}

/**
 * "key [key ...]" is one repeated argument, not an optional second one: when
 * an optional repeated group restates the elements just before it, those
 * elements become the repeated argument.
 */
function repeats(items: ArgumentDoc[], inner: ArgumentDoc): boolean {
  if (!inner.multiple) return false;
  const parts = inner.type === 'block' ? inner.arguments! : [inner];
  if (parts.length > items.length) return false;
  const tail = items.slice(items.length - parts.length);
  if (!tail.every((item, i) => item.name === parts[i]!.name && item.type === parts[i]!.type && item.token === parts[i]!.token)) return false;
  items.splice(items.length - parts.length, parts.length, { ...inner, multiple: true });
  return true;
}

export function parseSyntax(syntax: string): ArgumentDoc[] {
  return syntax === '' ? [] : new Reader(tokenize(syntax)).sequence();
}

/** The COMMAND DOCS form of one argument (flags as status replies, as redis-cli expects). */
export function argumentReply(arg: ArgumentDoc): Reply {
  const entries: [Reply, Reply][] = [['name', arg.name], ['type', arg.type]];
  if (arg.token !== undefined) entries.push(['token', arg.token]);
  const flags: Reply[] = [];
  if (arg.optional) flags.push(new SimpleReply('optional'));
  if (arg.multiple) flags.push(new SimpleReply('multiple'));
  if (flags.length > 0) entries.push(['flags', flags]);
  if (arg.arguments !== undefined) entries.push(['arguments', arg.arguments.map(argumentReply)]);
  return new MapReply(entries);
}

/** Renders arguments back into the help line, as redis-cli does: the round trip the tests check. */
export function renderSyntax(args: readonly ArgumentDoc[]): string {
  return args.map(render).join(' ');
}

function render(arg: ArgumentDoc): string {
  const token = arg.token !== undefined && arg.type !== 'pure-token' ? `${arg.token} ` : arg.token ?? '';
  let body = '';
  if (arg.type === 'oneof') body = arg.arguments!.map(render).join('|');
  else if (arg.type === 'block') body = arg.arguments!.map(render).join(' ');
  else if (arg.type !== 'pure-token') body = arg.name;
  let text = token + body;
  if (arg.multiple) text += ` [${body} ...]`;
  return arg.optional ? `[${text}]` : text;
}
