// The command table: every command ringkv serves, as data. Arity and key
// positions follow Redis's own table so COMMAND INFO reads the same to
// clients; `concurrent` marks the commands a pipelined connection may run
// side by side (see resp/connection.ts).

import { acrossKeyCommands } from './across-keys.js';
import { bitCommands } from './bits.js';
import { clusterCommands } from './cluster.js';
import { connectionCommands } from './connection.js';
import { counterCommands } from './counters.js';
import { keyCommands } from './keys.js';
import { listCommands } from './lists.js';
import { lcsCommand } from './lcs.js';
import { importCommands } from './import.js';
import { memoryCommands } from './memory.js';
import { objectCommands } from './object.js';
import { pubsubCommands } from './pubsub.js';
import { serverCommands } from './server.js';
import { slowlogCommands } from './slowlog.js';
import { setCommands } from './sets.js';
import { hashCommands } from './hashes.js';
import { stringCommands } from './strings.js';
import { parseSyntax } from './syntax.js';
import { transactionCommands } from './transactions.js';
import { zsetCommands } from './zsets.js';
import type { CommandFlag, CommandSpec, Handler } from './types.js';

interface Definition {
  /** As Redis's help shows it; COMMAND DOCS derives its argument tree from this (syntax.ts). */
  syntax: string;
  arity: number;
  flags: CommandFlag[];
  keys?: [first: number, last: number, step: number];
  group: string;
  summary: string;
  since: string;
  handler: Handler;
  concurrent?: CommandSpec['concurrent'];
}

const definitions: Record<string, Definition> = {
  // connection
  ping: { syntax: '[message]', arity: -1, flags: ['fast', 'stale', 'loading'], group: 'connection', summary: 'Returns the server\'s liveliness response.', since: '1.0.0', handler: connectionCommands.ping, concurrent: true },
  echo: { syntax: 'message', arity: 2, flags: ['fast', 'stale', 'loading'], group: 'connection', summary: 'Returns the given string.', since: '1.0.0', handler: connectionCommands.echo, concurrent: true },
  quit: { syntax: '', arity: -1, flags: ['no_auth', 'fast', 'stale', 'loading', 'allow_busy'], group: 'connection', summary: 'Closes the connection.', since: '1.0.0', handler: connectionCommands.quit },
  auth: { syntax: '[username] password', arity: -2, flags: ['no_auth', 'fast', 'stale', 'loading', 'allow_busy'], group: 'connection', summary: 'Authenticates the connection.', since: '1.0.0', handler: connectionCommands.auth },
  hello: { syntax: '[protover [AUTH username password] [SETNAME clientname]]', arity: -1, flags: ['no_auth', 'fast', 'stale', 'loading', 'allow_busy'], group: 'connection', summary: 'Handshakes with the server: protocol version, auth, name.', since: '6.0.0', handler: connectionCommands.hello },
  select: { syntax: 'index', arity: 2, flags: ['fast', 'stale', 'loading'], group: 'connection', summary: 'Changes the selected database (only 0 exists).', since: '1.0.0', handler: connectionCommands.select },
  reset: { syntax: '', arity: 1, flags: ['no_auth', 'noscript', 'loading', 'stale', 'fast', 'allow_busy'], group: 'connection', summary: 'Resets the connection: drops its transaction and subscriptions, RESP2, no name, default quorums, authenticated only without a password.', since: '6.2.0', handler: connectionCommands.reset },
  client: { syntax: 'SETNAME connection-name|GETNAME|ID|INFO|LIST|SETINFO LIB-NAME libname|SETINFO LIB-VER libver', arity: -2, flags: ['stale', 'loading'], group: 'connection', summary: 'A container for client connection commands.', since: '2.4.0', handler: connectionCommands.client },
  // server
  info: { syntax: '[section [section ...]]', arity: -1, flags: ['stale', 'loading'], group: 'server', summary: 'Returns information and statistics about the server.', since: '1.0.0', handler: serverCommands.info },
  config: { syntax: 'GET parameter [parameter ...]|SET parameter value [parameter value ...]|RESETSTAT|REWRITE|HELP', arity: -2, flags: ['admin', 'noscript', 'stale', 'loading'], group: 'server', summary: 'CONFIG GET | SET (this node, all-or-nothing) | RESETSTAT | REWRITE (the --config file) | HELP.', since: '2.0.0', handler: serverCommands.config },
  slowlog: { syntax: 'GET [count]|LEN|RESET|HELP', arity: -2, flags: ['admin', 'loading', 'stale'], group: 'server', summary: 'SLOWLOG GET [count] | LEN | RESET | HELP: the commands slower than slowlog-log-slower-than µs.', since: '2.2.12', handler: slowlogCommands.slowlog },
  command: { syntax: '[COUNT|DOCS [command-name [command-name ...]]|INFO [command-name [command-name ...]]|LIST]', arity: -1, flags: ['stale', 'loading'], group: 'server', summary: 'Returns detailed information about commands.', since: '2.8.13', handler: serverCommands.command },
  time: { syntax: '', arity: 1, flags: ['fast', 'stale', 'loading'], group: 'server', summary: 'Returns the server time.', since: '2.6.0', handler: serverCommands.time, concurrent: true },
  dbsize: { syntax: '', arity: 1, flags: ['readonly', 'fast'], group: 'server', summary: 'Returns the number of keys in the cluster.', since: '1.0.0', handler: keyCommands.dbsize },
  flushall: { syntax: '[ASYNC|SYNC]', arity: -1, flags: ['write'], group: 'server', summary: 'Removes every key from the cluster (all members must be up).', since: '1.0.0', handler: keyCommands.flushall },
  flushdb: { syntax: '[ASYNC|SYNC]', arity: -1, flags: ['write'], group: 'server', summary: 'Removes every key from the cluster (all members must be up).', since: '1.0.0', handler: keyCommands.flushall },
  // strings
  get: { syntax: 'key', arity: 2, flags: ['readonly', 'fast'], keys: [1, 1, 1], group: 'string', summary: 'Returns the string value of a key.', since: '1.0.0', handler: stringCommands.get, concurrent: true },
  set: { syntax: 'key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL] [VCLOCK context]', arity: -3, flags: ['write', 'denyoom'], keys: [1, 1, 1], group: 'string', summary: 'Sets the string value of a key (VCLOCK ctx: supersede what ctx covers).', since: '1.0.0', handler: stringCommands.set, concurrent: stringCommands.setConcurrently },
  setnx: { syntax: 'key value', arity: 3, flags: ['write', 'denyoom', 'fast'], keys: [1, 1, 1], group: 'string', summary: 'Sets the value of a key only when it does not exist.', since: '1.0.0', handler: stringCommands.setnx },
  setex: { syntax: 'key seconds value', arity: 4, flags: ['write', 'denyoom'], keys: [1, 1, 1], group: 'string', summary: 'Sets the value and expiration in seconds of a key.', since: '2.0.0', handler: stringCommands.setex, concurrent: true },
  psetex: { syntax: 'key milliseconds value', arity: 4, flags: ['write', 'denyoom'], keys: [1, 1, 1], group: 'string', summary: 'Sets the value and expiration in milliseconds of a key.', since: '2.6.0', handler: stringCommands.psetex, concurrent: true },
  getset: { syntax: 'key value', arity: 3, flags: ['write', 'denyoom', 'fast'], keys: [1, 1, 1], group: 'string', summary: 'Returns the previous value of a key after setting it.', since: '1.0.0', handler: stringCommands.getset },
  getdel: { syntax: 'key', arity: 2, flags: ['write', 'fast'], keys: [1, 1, 1], group: 'string', summary: 'Returns the value of a key after deleting it.', since: '6.2.0', handler: stringCommands.getdel },
  getex: { syntax: 'key [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|PERSIST]', arity: -2, flags: ['write', 'fast'], keys: [1, 1, 1], group: 'string', summary: 'Returns the value of a key after setting its expiration.', since: '6.2.0', handler: stringCommands.getex },
  mget: { syntax: 'key [key ...]', arity: -2, flags: ['readonly', 'fast'], keys: [1, -1, 1], group: 'string', summary: 'Returns the values of keys (read key by key, not atomically).', since: '1.0.0', handler: stringCommands.mget, concurrent: true },
  mset: { syntax: 'key value [key value ...]', arity: -3, flags: ['write', 'denyoom'], keys: [1, -1, 2], group: 'string', summary: 'Sets the values of keys (key by key, not atomically).', since: '1.0.1', handler: stringCommands.mset, concurrent: true },
  strlen: { syntax: 'key', arity: 2, flags: ['readonly', 'fast'], keys: [1, 1, 1], group: 'string', summary: 'Returns the length of a string value.', since: '2.2.0', handler: stringCommands.strlen, concurrent: true },
  append: { syntax: 'key value', arity: 3, flags: ['write', 'denyoom', 'fast'], keys: [1, 1, 1], group: 'string', summary: 'Appends a string to the value of a key.', since: '2.0.0', handler: stringCommands.append },
  getrange: { syntax: 'key start end', arity: 4, flags: ['readonly'], keys: [1, 1, 1], group: 'string', summary: 'Returns a substring of a string value.', since: '2.4.0', handler: stringCommands.getrange, concurrent: true },
  msetnx: { syntax: 'key value [key value ...]', arity: -3, flags: ['write', 'denyoom'], keys: [1, -1, 2], group: 'string', summary: 'Sets keys only when none exists (reads every key, then writes each: not atomic).', since: '1.0.1', handler: acrossKeyCommands.msetnx },
  lcs: { syntax: 'key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]', arity: -3, flags: ['readonly'], keys: [1, 2, 1], group: 'string', summary: 'Finds the longest common substring (the keys are read one after the other).', since: '7.0.0', handler: lcsCommand, concurrent: true },
  setrange: { syntax: 'key offset value', arity: 4, flags: ['write', 'denyoom'], keys: [1, 1, 1], group: 'string', summary: 'Overwrites part of a string value from an offset.', since: '2.2.0', handler: stringCommands.setrange },
  // bitmaps
  setbit: { syntax: 'key offset value', arity: 4, flags: ['write', 'denyoom'], keys: [1, 1, 1], group: 'bitmap', summary: 'Sets or clears the bit at offset of the string value. Creates the key if it doesn\'t exist.', since: '2.2.0', handler: bitCommands.setbit },
  getbit: { syntax: 'key offset', arity: 3, flags: ['readonly', 'fast'], keys: [1, 1, 1], group: 'bitmap', summary: 'Returns a bit value by offset.', since: '2.2.0', handler: bitCommands.getbit, concurrent: true },
  bitcount: { syntax: 'key [start end [BYTE|BIT]]', arity: -2, flags: ['readonly'], keys: [1, 1, 1], group: 'bitmap', summary: 'Counts the number of set bits (population counting) in a string.', since: '2.6.0', handler: bitCommands.bitcount, concurrent: true },
  bitpos: { syntax: 'key bit [start [end [BYTE|BIT]]]', arity: -3, flags: ['readonly'], keys: [1, 1, 1], group: 'bitmap', summary: 'Finds the first set (1) or clear (0) bit in a string.', since: '2.8.7', handler: bitCommands.bitpos, concurrent: true },
  bitop: { syntax: 'AND|OR|XOR|NOT destkey key [key ...]', arity: -4, flags: ['write', 'denyoom'], keys: [2, -1, 1], group: 'bitmap', summary: 'Performs bitwise operations on strings and stores the result (sources read one by one, then the destination written).', since: '2.6.0', handler: bitCommands.bitop },
  bitfield: { syntax: 'key [GET encoding offset ...] [OVERFLOW overflow-behavior] [SET encoding offset value ...] [INCRBY encoding offset increment ...]', arity: -2, flags: ['write', 'denyoom'], keys: [1, 1, 1], group: 'bitmap', summary: 'Performs arbitrary bitfield integer operations on strings.', since: '3.2.0', handler: bitCommands.bitfield },
  bitfield_ro: { syntax: 'key [GET encoding offset ...]', arity: -2, flags: ['readonly', 'fast'], keys: [1, 1, 1], group: 'bitmap', summary: 'Performs arbitrary read-only bitfield integer operations on strings.', since: '6.0.0', handler: bitCommands.bitfieldRo, concurrent: true },
  // keys
  rename: { syntax: 'key newkey', arity: 3, flags: ['write'], keys: [1, 2, 1], group: 'generic', summary: 'Renames a key: writes the new key at W, then deletes the old one at W (not atomic).', since: '1.0.0', handler: acrossKeyCommands.rename },
  renamenx: { syntax: 'key newkey', arity: 3, flags: ['write', 'fast'], keys: [1, 2, 1], group: 'generic', summary: 'Renames a key only when the target key name doesn\'t exist (check, write, delete: not atomic).', since: '1.0.0', handler: acrossKeyCommands.renamenx },
  copy: { syntax: 'source destination [DB destination-db] [REPLACE]', arity: -3, flags: ['write', 'denyoom'], keys: [1, 2, 1], group: 'generic', summary: 'Copies the value of a key to a new key (database 0 only).', since: '6.2.0', handler: acrossKeyCommands.copy },
  randomkey: { syntax: '', arity: 1, flags: ['readonly'], group: 'generic', summary: 'Returns a random key name from the cluster.', since: '1.0.0', handler: keyCommands.randomkey },
  touch: { syntax: 'key [key ...]', arity: -2, flags: ['readonly', 'fast'], keys: [1, -1, 1], group: 'generic', summary: 'Returns the number of existing keys out of those specified.', since: '3.2.1', handler: keyCommands.touch, concurrent: true },
  expiretime: { syntax: 'key', arity: 2, flags: ['readonly', 'fast'], keys: [1, 1, 1], group: 'generic', summary: 'Returns the expiration time of a key as a Unix timestamp.', since: '7.0.0', handler: keyCommands.expiretime, concurrent: true },
  pexpiretime: { syntax: 'key', arity: 2, flags: ['readonly', 'fast'], keys: [1, 1, 1], group: 'generic', summary: 'Returns the expiration time of a key as a Unix milliseconds timestamp.', since: '7.0.0', handler: keyCommands.pexpiretime, concurrent: true },
  object: { syntax: 'ENCODING key|FREQ key|IDLETIME key|REFCOUNT key|HELP', arity: -2, flags: ['readonly'], keys: [2, 2, 1], group: 'generic', summary: 'A container for object introspection commands (IDLETIME counts from the last write).', since: '2.2.3', handler: objectCommands.object, concurrent: true },
  memory: { syntax: 'USAGE key [SAMPLES count]|HELP', arity: -2, flags: ['readonly'], keys: [2, 2, 1], group: 'server', summary: 'The bytes a key\'s record takes as one replica stores it (MEMORY USAGE); MEMORY HELP.', since: '4.0.0', handler: memoryCommands.memory, concurrent: true },
  dump: { syntax: 'key', arity: 2, flags: ['readonly'], keys: [1, 1, 1], group: 'generic', summary: 'Returns a serialized representation of the value stored at a key (ringkv\'s payload, not Redis\'s RDB).', since: '2.6.0', handler: objectCommands.dump, concurrent: true },
  import: { syntax: 'key value [PXAT unix-time-milliseconds] | key TYPE list|zset|set|hash [PXAT unix-time-milliseconds] [REPLACE] [APPEND token|OVER token] ITEMS item [item ...]', arity: -3, flags: ['write', 'denyoom'], keys: [1, 1, 1], group: 'generic', summary: 'ringkv: writes a value copied from a Redis being migrated (a string, or a page of a collection), only where the key has no version in ringkv unless REPLACE; 1 or the page token when written, 0 when not.', since: '0.1.0', handler: importCommands.import },
  restore: { syntax: 'key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]', arity: -4, flags: ['write', 'denyoom'], keys: [1, 1, 1], group: 'generic', summary: 'Creates a key from a ringkv DUMP payload (a Redis RDB payload is refused).', since: '2.6.0', handler: objectCommands.restore },
  wait: { syntax: 'numreplicas timeout', arity: 3, flags: [], group: 'generic', summary: 'Returns W-1 at once: every write was already acknowledged by W replicas.', since: '3.0.0', handler: keyCommands.wait },
  del: { syntax: 'key [key ...]', arity: -2, flags: ['write'], keys: [1, -1, 1], group: 'generic', summary: 'Deletes keys: reads each at R, then writes a tombstone covering what it read.', since: '1.0.0', handler: keyCommands.del },
  unlink: { syntax: 'key [key ...]', arity: -2, flags: ['write', 'fast'], keys: [1, -1, 1], group: 'generic', summary: 'Deletes keys (as DEL).', since: '4.0.0', handler: keyCommands.del },
  exists: { syntax: 'key [key ...]', arity: -2, flags: ['readonly', 'fast'], keys: [1, -1, 1], group: 'generic', summary: 'Counts how many of the given keys exist.', since: '1.0.0', handler: keyCommands.exists, concurrent: true },
  expire: { syntax: 'key seconds [NX|XX|GT|LT]', arity: -3, flags: ['write', 'fast'], keys: [1, 1, 1], group: 'generic', summary: 'Sets a key\'s time to live in seconds.', since: '1.0.0', handler: keyCommands.expire },
  pexpire: { syntax: 'key milliseconds [NX|XX|GT|LT]', arity: -3, flags: ['write', 'fast'], keys: [1, 1, 1], group: 'generic', summary: 'Sets a key\'s time to live in milliseconds.', since: '2.6.0', handler: keyCommands.pexpire },
  expireat: { syntax: 'key unix-time-seconds [NX|XX|GT|LT]', arity: -3, flags: ['write', 'fast'], keys: [1, 1, 1], group: 'generic', summary: 'Sets a key\'s expiration as a Unix time in seconds.', since: '1.2.0', handler: keyCommands.expireat },
  pexpireat: { syntax: 'key unix-time-milliseconds [NX|XX|GT|LT]', arity: -3, flags: ['write', 'fast'], keys: [1, 1, 1], group: 'generic', summary: 'Sets a key\'s expiration as a Unix time in milliseconds.', since: '2.6.0', handler: keyCommands.pexpireat },
  ttl: { syntax: 'key', arity: 2, flags: ['readonly', 'fast'], keys: [1, 1, 1], group: 'generic', summary: 'Returns a key\'s time to live in seconds.', since: '1.0.0', handler: keyCommands.ttl, concurrent: true },
  pttl: { syntax: 'key', arity: 2, flags: ['readonly', 'fast'], keys: [1, 1, 1], group: 'generic', summary: 'Returns a key\'s time to live in milliseconds.', since: '2.6.0', handler: keyCommands.pttl, concurrent: true },
  persist: { syntax: 'key', arity: 2, flags: ['write', 'fast'], keys: [1, 1, 1], group: 'generic', summary: 'Removes a key\'s expiration.', since: '2.2.0', handler: keyCommands.persist },
  type: { syntax: 'key', arity: 2, flags: ['readonly', 'fast'], keys: [1, 1, 1], group: 'generic', summary: 'Returns the type of a key\'s value.', since: '1.0.0', handler: keyCommands.type, concurrent: true },
  keys: { syntax: 'pattern', arity: 2, flags: ['readonly'], group: 'generic', summary: 'Returns the cluster\'s keys matching a pattern.', since: '1.0.0', handler: keyCommands.keys },
  scan: { syntax: 'cursor [MATCH pattern] [COUNT count] [TYPE type]', arity: -2, flags: ['readonly'], group: 'generic', summary: 'Iterates over the cluster\'s keys with a cursor valid on any node.', since: '2.8.0', handler: keyCommands.scan },
  // transactions (commands/transactions.ts): queued in order, not isolated across keys
  // counters (crdt/counter.ts): applied at the key's coordinator, one at a time per key; concurrent ones on both sides of a partition all count
  incr: { syntax: 'key', arity: 2, flags: ['write', 'denyoom', 'fast'], keys: [1, 1, 1], group: 'string', summary: 'Increments the integer value of a key by one (a counter: concurrent increments all count).', since: '1.0.0', handler: counterCommands.incr, concurrent: true },
  decr: { syntax: 'key', arity: 2, flags: ['write', 'denyoom', 'fast'], keys: [1, 1, 1], group: 'string', summary: 'Decrements the integer value of a key by one (a counter).', since: '1.0.0', handler: counterCommands.decr, concurrent: true },
  incrby: { syntax: 'key increment', arity: 3, flags: ['write', 'denyoom', 'fast'], keys: [1, 1, 1], group: 'string', summary: 'Increments the integer value of a key by a number (a counter).', since: '1.0.0', handler: counterCommands.incrby, concurrent: true },
  decrby: { syntax: 'key decrement', arity: 3, flags: ['write', 'denyoom', 'fast'], keys: [1, 1, 1], group: 'string', summary: 'Decrements the integer value of a key by a number (a counter).', since: '1.0.0', handler: counterCommands.decrby, concurrent: true },
  incrbyfloat: { syntax: 'key increment', arity: 3, flags: ['write', 'denyoom', 'fast'], keys: [1, 1, 1], group: 'string', summary: 'Increments the floating point value of a key by a number (a counter; Redis\'s long double digits).', since: '2.6.0', handler: counterCommands.incrbyfloat, concurrent: true },
  // sets (crdt/set.ts): add-wins; writes applied at the key's coordinator, one at a time per key; members listed in byte order
  sadd: { syntax: 'key member [member ...]', arity: -3, flags: ['write', 'denyoom', 'fast'], keys: [1, 1, 1], group: 'set', summary: 'Adds members to a set (add-wins: an add concurrent with a remove of the member keeps it).', since: '1.0.0', handler: setCommands.sadd, concurrent: true },
  srem: { syntax: 'key member [member ...]', arity: -3, flags: ['write', 'fast'], keys: [1, 1, 1], group: 'set', summary: 'Removes members from a set (the adds this coordinator has seen).', since: '1.0.0', handler: setCommands.srem, concurrent: true },
  smembers: { syntax: 'key', arity: 2, flags: ['readonly'], keys: [1, 1, 1], group: 'set', summary: 'Returns all members of a set (in byte order).', since: '1.0.0', handler: setCommands.smembers, concurrent: true },
  sismember: { syntax: 'key member', arity: 3, flags: ['readonly', 'fast'], keys: [1, 1, 1], group: 'set', summary: 'Determines whether a member belongs to a set.', since: '1.0.0', handler: setCommands.sismember, concurrent: true },
  smismember: { syntax: 'key member [member ...]', arity: -3, flags: ['readonly', 'fast'], keys: [1, 1, 1], group: 'set', summary: 'Determines whether multiple members belong to a set.', since: '6.2.0', handler: setCommands.smismember, concurrent: true },
  scard: { syntax: 'key', arity: 2, flags: ['readonly', 'fast'], keys: [1, 1, 1], group: 'set', summary: 'Returns the number of members in a set.', since: '1.0.0', handler: setCommands.scard, concurrent: true },
  srandmember: { syntax: 'key [count]', arity: -2, flags: ['readonly'], keys: [1, 1, 1], group: 'set', summary: 'Gets one or multiple random members from a set.', since: '1.0.0', handler: setCommands.srandmember, concurrent: true },
  spop: { syntax: 'key [count]', arity: -2, flags: ['write', 'fast'], keys: [1, 1, 1], group: 'set', summary: 'Returns one or more random members from a set after removing them (chosen at the key\'s coordinator).', since: '1.0.0', handler: setCommands.spop, concurrent: true },
  smove: { syntax: 'source destination member', arity: 4, flags: ['write', 'fast'], keys: [1, 2, 1], group: 'set', summary: 'Moves a member from one set to another: removes it from the source at W, then adds it to the destination at W (not atomic).', since: '1.0.0', handler: setCommands.smove },
  sinter: { syntax: 'key [key ...]', arity: -2, flags: ['readonly'], keys: [1, -1, 1], group: 'set', summary: 'Returns the intersect of multiple sets (each read on its own).', since: '1.0.0', handler: setCommands.sinter, concurrent: true },
  sinterstore: { syntax: 'destination key [key ...]', arity: -3, flags: ['write', 'denyoom'], keys: [1, -1, 1], group: 'set', summary: 'Stores the intersect of multiple sets in a key (sources read, then the destination written: not atomic).', since: '1.0.0', handler: setCommands.sinterstore },
  sintercard: { syntax: 'numkeys key [key ...] [LIMIT limit]', arity: -3, flags: ['readonly'], group: 'set', summary: 'Returns the number of members of the intersect of multiple sets.', since: '7.0.0', handler: setCommands.sintercard, concurrent: true },
  sunion: { syntax: 'key [key ...]', arity: -2, flags: ['readonly'], keys: [1, -1, 1], group: 'set', summary: 'Returns the union of multiple sets.', since: '1.0.0', handler: setCommands.sunion, concurrent: true },
  sunionstore: { syntax: 'destination key [key ...]', arity: -3, flags: ['write', 'denyoom'], keys: [1, -1, 1], group: 'set', summary: 'Stores the union of multiple sets in a key (not atomic).', since: '1.0.0', handler: setCommands.sunionstore },
  sdiff: { syntax: 'key [key ...]', arity: -2, flags: ['readonly'], keys: [1, -1, 1], group: 'set', summary: 'Returns the difference of multiple sets.', since: '1.0.0', handler: setCommands.sdiff, concurrent: true },
  sdiffstore: { syntax: 'destination key [key ...]', arity: -3, flags: ['write', 'denyoom'], keys: [1, -1, 1], group: 'set', summary: 'Stores the difference of multiple sets in a key (not atomic).', since: '1.0.0', handler: setCommands.sdiffstore },
  sscan: { syntax: 'key cursor [MATCH pattern] [COUNT count]', arity: -3, flags: ['readonly'], keys: [1, 1, 1], group: 'set', summary: 'Iterates over members of a set (cursor = position in byte order).', since: '2.8.0', handler: setCommands.sscan, concurrent: true },
  // hashes (crdt/hash.ts): an observed-remove map; writes applied at the key's coordinator, one at a time per key; fields listed in byte order
  hset: { syntax: 'key field value [field value ...]', arity: -4, flags: ['write', 'denyoom', 'fast'], keys: [1, 1, 1], group: 'hash', summary: 'Creates or modifies the value of fields in a hash (concurrent sets of one field stay side by side: HSIBLINGS).', since: '2.0.0', handler: hashCommands.hset, concurrent: true },
  hmset: { syntax: 'key field value [field value ...]', arity: -4, flags: ['write', 'denyoom', 'fast'], keys: [1, 1, 1], group: 'hash', summary: 'Sets the values of multiple fields.', since: '2.0.0', handler: hashCommands.hmset, concurrent: true },
  hsetnx: { syntax: 'key field value', arity: 4, flags: ['write', 'denyoom', 'fast'], keys: [1, 1, 1], group: 'hash', summary: 'Sets the value of a field in a hash only when the field doesn\'t exist (as the key\'s coordinator sees it).', since: '2.0.0', handler: hashCommands.hsetnx, concurrent: true },
  hget: { syntax: 'key field', arity: 3, flags: ['readonly', 'fast'], keys: [1, 1, 1], group: 'hash', summary: 'Returns the value of a field in a hash.', since: '2.0.0', handler: hashCommands.hget, concurrent: true },
  hmget: { syntax: 'key field [field ...]', arity: -3, flags: ['readonly', 'fast'], keys: [1, 1, 1], group: 'hash', summary: 'Returns the values of all fields in a hash.', since: '2.0.0', handler: hashCommands.hmget, concurrent: true },
  hgetall: { syntax: 'key', arity: 2, flags: ['readonly'], keys: [1, 1, 1], group: 'hash', summary: 'Returns all fields and values in a hash (in byte order of the fields).', since: '2.0.0', handler: hashCommands.hgetall, concurrent: true },
  hdel: { syntax: 'key field [field ...]', arity: -3, flags: ['write', 'fast'], keys: [1, 1, 1], group: 'hash', summary: 'Deletes one or more fields (a concurrent HSET or HINCRBY of the field wins).', since: '2.0.0', handler: hashCommands.hdel, concurrent: true },
  hlen: { syntax: 'key', arity: 2, flags: ['readonly', 'fast'], keys: [1, 1, 1], group: 'hash', summary: 'Returns the number of fields in a hash.', since: '2.0.0', handler: hashCommands.hlen, concurrent: true },
  hexists: { syntax: 'key field', arity: 3, flags: ['readonly', 'fast'], keys: [1, 1, 1], group: 'hash', summary: 'Determines whether a field exists in a hash.', since: '2.0.0', handler: hashCommands.hexists, concurrent: true },
  hkeys: { syntax: 'key', arity: 2, flags: ['readonly'], keys: [1, 1, 1], group: 'hash', summary: 'Returns all fields in a hash.', since: '2.0.0', handler: hashCommands.hkeys, concurrent: true },
  hvals: { syntax: 'key', arity: 2, flags: ['readonly'], keys: [1, 1, 1], group: 'hash', summary: 'Returns all values in a hash.', since: '2.0.0', handler: hashCommands.hvals, concurrent: true },
  hstrlen: { syntax: 'key field', arity: 3, flags: ['readonly', 'fast'], keys: [1, 1, 1], group: 'hash', summary: 'Returns the length of the value of a field.', since: '3.2.0', handler: hashCommands.hstrlen, concurrent: true },
  hincrby: { syntax: 'key field increment', arity: 4, flags: ['write', 'denyoom', 'fast'], keys: [1, 1, 1], group: 'hash', summary: 'Increments the integer value of a field by a number (concurrent increments all count).', since: '2.0.0', handler: hashCommands.hincrby, concurrent: true },
  hincrbyfloat: { syntax: 'key field increment', arity: 4, flags: ['write', 'denyoom', 'fast'], keys: [1, 1, 1], group: 'hash', summary: 'Increments the floating point value of a field by a number (Redis\'s long double digits; concurrent increments all count).', since: '2.6.0', handler: hashCommands.hincrbyfloat, concurrent: true },
  hrandfield: { syntax: 'key [count [WITHVALUES]]', arity: -2, flags: ['readonly'], keys: [1, 1, 1], group: 'hash', summary: 'Returns one or more random fields from a hash.', since: '6.2.0', handler: hashCommands.hrandfield, concurrent: true },
  hscan: { syntax: 'key cursor [MATCH pattern] [COUNT count]', arity: -3, flags: ['readonly'], keys: [1, 1, 1], group: 'hash', summary: 'Iterates over fields and values of a hash (cursor = position in byte order).', since: '2.8.0', handler: hashCommands.hscan, concurrent: true },
  hsiblings: { syntax: 'key field', arity: 3, flags: ['readonly'], keys: [1, 1, 1], group: 'ringkv', summary: 'Returns every value concurrent HSETs left in a field, the one HGET shows last; an HSET of the field resolves them.', since: '0.1.0', handler: hashCommands.hsiblings, concurrent: true },
  multi: { syntax: '', arity: 1, flags: ['noscript', 'loading', 'stale', 'fast', 'allow_busy'], group: 'transactions', summary: 'Starts a transaction: commands are queued until EXEC (run in order, not isolated across keys).', since: '1.2.0', handler: transactionCommands.multi },
  exec: { syntax: '', arity: 1, flags: ['noscript', 'loading', 'stale', 'skip_slowlog'], group: 'transactions', summary: 'Runs the queued commands one after another and returns their replies.', since: '1.2.0', handler: transactionCommands.exec },
  discard: { syntax: '', arity: 1, flags: ['noscript', 'loading', 'stale', 'fast', 'allow_busy'], group: 'transactions', summary: 'Discards a transaction.', since: '2.0.0', handler: transactionCommands.discard },
  watch: { syntax: 'key [key ...]', arity: -2, flags: ['noscript', 'loading', 'stale', 'fast', 'allow_busy'], keys: [1, -1, 1], group: 'transactions', summary: 'Refused: ringkv has no isolation across keys to watch them with; use SET … VCLOCK.', since: '2.2.0', handler: transactionCommands.watch },
  unwatch: { syntax: '', arity: 1, flags: ['noscript', 'loading', 'stale', 'fast', 'allow_busy'], group: 'transactions', summary: 'Refused, as WATCH is.', since: '2.2.0', handler: transactionCommands.unwatch },
  // sorted sets (commands/zsets.ts, crdt/zset.ts): operations applied at the key's coordinator; concurrent adds on both sides of a partition all kept, concurrent ZINCRBYs all count
  zadd: { syntax: 'key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]', arity: -4, flags: ['write', 'denyoom', 'fast'], keys: [1, 1, 1], group: 'sorted-set', summary: 'Adds members to a sorted set, or updates their scores (a score register; INCR as ZINCRBY).', since: '1.2.0', handler: zsetCommands.zadd, concurrent: true },
  zincrby: { syntax: 'key increment member', arity: 4, flags: ['write', 'denyoom', 'fast'], keys: [1, 1, 1], group: 'sorted-set', summary: 'Increments the score of a member (a counter: concurrent increments all count).', since: '1.2.0', handler: zsetCommands.zincrby, concurrent: true },
  zrem: { syntax: 'key member [member ...]', arity: -3, flags: ['write', 'fast'], keys: [1, 1, 1], group: 'sorted-set', summary: 'Removes members from a sorted set (a concurrent add of a member keeps it).', since: '1.2.0', handler: zsetCommands.zrem, concurrent: true },
  zpopmin: { syntax: 'key [count]', arity: -2, flags: ['write', 'fast'], keys: [1, 1, 1], group: 'sorted-set', summary: 'Removes and returns the members with the lowest scores (concurrent pops on both sides of a partition may return the same member).', since: '5.0.0', handler: zsetCommands.zpopmin },
  zpopmax: { syntax: 'key [count]', arity: -2, flags: ['write', 'fast'], keys: [1, 1, 1], group: 'sorted-set', summary: 'Removes and returns the members with the highest scores (concurrent pops on both sides of a partition may return the same member).', since: '5.0.0', handler: zsetCommands.zpopmax },
  zscore: { syntax: 'key member', arity: 3, flags: ['readonly', 'fast'], keys: [1, 1, 1], group: 'sorted-set', summary: 'Returns the score of a member.', since: '1.2.0', handler: zsetCommands.zscore, concurrent: true },
  zmscore: { syntax: 'key member [member ...]', arity: -3, flags: ['readonly', 'fast'], keys: [1, 1, 1], group: 'sorted-set', summary: 'Returns the scores of members.', since: '6.2.0', handler: zsetCommands.zmscore, concurrent: true },
  zcard: { syntax: 'key', arity: 2, flags: ['readonly', 'fast'], keys: [1, 1, 1], group: 'sorted-set', summary: 'Returns the number of members in a sorted set.', since: '1.2.0', handler: zsetCommands.zcard, concurrent: true },
  zrank: { syntax: 'key member', arity: 3, flags: ['readonly', 'fast'], keys: [1, 1, 1], group: 'sorted-set', summary: 'Returns the index of a member ordered by ascending score.', since: '2.0.0', handler: zsetCommands.zrank, concurrent: true },
  zrevrank: { syntax: 'key member', arity: 3, flags: ['readonly', 'fast'], keys: [1, 1, 1], group: 'sorted-set', summary: 'Returns the index of a member ordered by descending score.', since: '2.0.0', handler: zsetCommands.zrevrank, concurrent: true },
  zcount: { syntax: 'key min max', arity: 4, flags: ['readonly', 'fast'], keys: [1, 1, 1], group: 'sorted-set', summary: 'Returns the count of members with scores within a range.', since: '2.0.0', handler: zsetCommands.zcount, concurrent: true },
  zlexcount: { syntax: 'key min max', arity: 4, flags: ['readonly', 'fast'], keys: [1, 1, 1], group: 'sorted-set', summary: 'Returns the count of members within a lexicographical range.', since: '2.8.9', handler: zsetCommands.zlexcount, concurrent: true },
  zrange: { syntax: 'key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]', arity: -4, flags: ['readonly'], keys: [1, 1, 1], group: 'sorted-set', summary: 'Returns members in a range of indexes, scores or lexicographical order.', since: '1.2.0', handler: zsetCommands.zrange, concurrent: true },
  zrangebyscore: { syntax: 'key min max [WITHSCORES] [LIMIT offset count]', arity: -4, flags: ['readonly'], keys: [1, 1, 1], group: 'sorted-set', summary: 'Returns members within a range of scores.', since: '1.0.5', handler: zsetCommands.zrangebyscore, concurrent: true },
  zrevrangebyscore: { syntax: 'key max min [WITHSCORES] [LIMIT offset count]', arity: -4, flags: ['readonly'], keys: [1, 1, 1], group: 'sorted-set', summary: 'Returns members within a range of scores, highest first.', since: '2.2.0', handler: zsetCommands.zrevrangebyscore, concurrent: true },
  zrangebylex: { syntax: 'key min max [LIMIT offset count]', arity: -4, flags: ['readonly'], keys: [1, 1, 1], group: 'sorted-set', summary: 'Returns members within a lexicographical range.', since: '2.8.9', handler: zsetCommands.zrangebylex, concurrent: true },
  zrevrangebylex: { syntax: 'key max min [LIMIT offset count]', arity: -4, flags: ['readonly'], keys: [1, 1, 1], group: 'sorted-set', summary: 'Returns members within a lexicographical range, highest first.', since: '2.8.9', handler: zsetCommands.zrevrangebylex, concurrent: true },
  zrevrange: { syntax: 'key start stop [WITHSCORES]', arity: -4, flags: ['readonly'], keys: [1, 1, 1], group: 'sorted-set', summary: 'Returns members in a range of indexes, highest score first.', since: '1.2.0', handler: zsetCommands.zrevrange, concurrent: true },
  zrangestore: { syntax: 'dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]', arity: -5, flags: ['write', 'denyoom'], keys: [1, 2, 1], group: 'sorted-set', summary: 'Stores a range of members in another key (read at R, then written: not atomic across the two keys).', since: '6.2.0', handler: zsetCommands.zrangestore },
  zscan: { syntax: 'key cursor [MATCH pattern] [COUNT count]', arity: -3, flags: ['readonly'], keys: [1, 1, 1], group: 'sorted-set', summary: 'Iterates over members and scores (one page, cursor 0).', since: '2.8.0', handler: zsetCommands.zscan, concurrent: true },
  bzpopmin: { syntax: 'key [key ...] timeout', arity: -3, flags: ['write', 'noscript', 'blocking', 'fast'], keys: [1, -2, 1], group: 'sorted-set', summary: 'Refused: blocking commands are not supported (poll ZPOPMIN).', since: '5.0.0', handler: zsetCommands.bzpopmin },
  bzpopmax: { syntax: 'key [key ...] timeout', arity: -3, flags: ['write', 'noscript', 'blocking', 'fast'], keys: [1, -2, 1], group: 'sorted-set', summary: 'Refused: blocking commands are not supported (poll ZPOPMAX).', since: '5.0.0', handler: zsetCommands.bzpopmax },
  bzmpop: { syntax: 'timeout numkeys key [key ...] MIN|MAX [COUNT count]', arity: -5, flags: ['write', 'blocking'], group: 'sorted-set', summary: 'Refused: blocking commands are not supported (poll ZPOPMIN/ZPOPMAX).', since: '7.0.0', handler: zsetCommands.bzmpop },
  // lists (commands/lists.ts, crdt/list.ts): operations applied at the key's coordinator; concurrent pushes all kept in one order, concurrent pops on both sides of a partition may return the same element
  lpush: { syntax: 'key element [element ...]', arity: -3, flags: ['write', 'denyoom', 'fast'], keys: [1, 1, 1], group: 'list', summary: 'Prepends elements to a list (concurrent pushes all kept, in one order).', since: '1.0.0', handler: listCommands.lpush, concurrent: true },
  rpush: { syntax: 'key element [element ...]', arity: -3, flags: ['write', 'denyoom', 'fast'], keys: [1, 1, 1], group: 'list', summary: 'Appends elements to a list (concurrent pushes all kept, in one order).', since: '1.0.0', handler: listCommands.rpush, concurrent: true },
  lpushx: { syntax: 'key element [element ...]', arity: -3, flags: ['write', 'denyoom', 'fast'], keys: [1, 1, 1], group: 'list', summary: 'Prepends elements to a list only when it exists.', since: '2.2.0', handler: listCommands.lpushx, concurrent: true },
  rpushx: { syntax: 'key element [element ...]', arity: -3, flags: ['write', 'denyoom', 'fast'], keys: [1, 1, 1], group: 'list', summary: 'Appends elements to a list only when it exists.', since: '2.2.0', handler: listCommands.rpushx, concurrent: true },
  lpop: { syntax: 'key [count]', arity: -2, flags: ['write', 'fast'], keys: [1, 1, 1], group: 'list', summary: 'Removes and returns the first elements (concurrent pops on both sides of a partition may return the same element).', since: '1.0.0', handler: listCommands.lpop, concurrent: true },
  rpop: { syntax: 'key [count]', arity: -2, flags: ['write', 'fast'], keys: [1, 1, 1], group: 'list', summary: 'Removes and returns the last elements (concurrent pops on both sides of a partition may return the same element).', since: '1.0.0', handler: listCommands.rpop, concurrent: true },
  llen: { syntax: 'key', arity: 2, flags: ['readonly', 'fast'], keys: [1, 1, 1], group: 'list', summary: 'Returns the length of a list.', since: '1.0.0', handler: listCommands.llen, concurrent: true },
  lindex: { syntax: 'key index', arity: 3, flags: ['readonly'], keys: [1, 1, 1], group: 'list', summary: 'Returns an element by its index.', since: '1.0.0', handler: listCommands.lindex, concurrent: true },
  lrange: { syntax: 'key start stop', arity: 4, flags: ['readonly'], keys: [1, 1, 1], group: 'list', summary: 'Returns a range of elements.', since: '1.0.0', handler: listCommands.lrange, concurrent: true },
  lset: { syntax: 'key index element', arity: 4, flags: ['write', 'denyoom'], keys: [1, 1, 1], group: 'list', summary: 'Sets an element by its index (concurrent LSETs: the greatest dot shows until a later LSET).', since: '1.0.0', handler: listCommands.lset, concurrent: true },
  lrem: { syntax: 'key count element', arity: 4, flags: ['write'], keys: [1, 1, 1], group: 'list', summary: 'Removes elements equal to a value.', since: '1.0.0', handler: listCommands.lrem, concurrent: true },
  ltrim: { syntax: 'key start stop', arity: 4, flags: ['write'], keys: [1, 1, 1], group: 'list', summary: 'Keeps only a range of elements.', since: '1.0.0', handler: listCommands.ltrim },
  linsert: { syntax: 'key BEFORE|AFTER pivot element', arity: 5, flags: ['write', 'denyoom'], keys: [1, 1, 1], group: 'list', summary: 'Inserts an element before or after another.', since: '2.2.0', handler: listCommands.linsert, concurrent: true },
  lpos: { syntax: 'key element [RANK rank] [COUNT num-matches] [MAXLEN len]', arity: -3, flags: ['readonly'], keys: [1, 1, 1], group: 'list', summary: 'Returns the index of matching elements.', since: '6.0.6', handler: listCommands.lpos, concurrent: true },
  lmove: { syntax: 'source destination LEFT|RIGHT LEFT|RIGHT', arity: 5, flags: ['write', 'denyoom'], keys: [1, 2, 1], group: 'list', summary: 'Moves an element between lists (two keys: a pop then a push, not atomic).', since: '6.2.0', handler: listCommands.lmove },
  rpoplpush: { syntax: 'source destination', arity: 3, flags: ['write', 'denyoom'], keys: [1, 2, 1], group: 'list', summary: 'Moves the last element of a list to the head of another (two keys: a pop then a push, not atomic).', since: '1.2.0', handler: listCommands.rpoplpush },
  blpop: { syntax: 'key [key ...] timeout', arity: -3, flags: ['write', 'noscript', 'blocking'], keys: [1, -2, 1], group: 'list', summary: 'Refused: blocking commands are not supported (poll LPOP).', since: '2.0.0', handler: listCommands.blpop },
  brpop: { syntax: 'key [key ...] timeout', arity: -3, flags: ['write', 'noscript', 'blocking'], keys: [1, -2, 1], group: 'list', summary: 'Refused: blocking commands are not supported (poll RPOP).', since: '2.0.0', handler: listCommands.brpop },
  blmove: { syntax: 'source destination LEFT|RIGHT LEFT|RIGHT timeout', arity: 6, flags: ['write', 'denyoom', 'noscript', 'blocking'], keys: [1, 2, 1], group: 'list', summary: 'Refused: blocking commands are not supported (poll LMOVE).', since: '6.2.0', handler: listCommands.blmove },
  brpoplpush: { syntax: 'source destination timeout', arity: 4, flags: ['write', 'denyoom', 'noscript', 'blocking'], keys: [1, 2, 1], group: 'list', summary: 'Refused: blocking commands are not supported (poll RPOPLPUSH).', since: '2.2.0', handler: listCommands.brpoplpush },
  blmpop: { syntax: 'timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]', arity: -5, flags: ['write', 'blocking'], group: 'list', summary: 'Refused: blocking commands are not supported (poll LPOP/RPOP).', since: '7.0.0', handler: listCommands.blmpop },
  // pubsub (commands/pubsub.ts): across the cluster, at most once
  subscribe: { syntax: 'channel [channel ...]', arity: -2, flags: ['pubsub', 'noscript', 'loading', 'stale'], group: 'pubsub', summary: 'Listens for messages published to channels, on any node of the cluster.', since: '2.0.0', handler: pubsubCommands.subscribe },
  unsubscribe: { syntax: '[channel [channel ...]]', arity: -1, flags: ['pubsub', 'noscript', 'loading', 'stale'], group: 'pubsub', summary: 'Stops listening to messages posted to channels.', since: '2.0.0', handler: pubsubCommands.unsubscribe },
  psubscribe: { syntax: 'pattern [pattern ...]', arity: -2, flags: ['pubsub', 'noscript', 'loading', 'stale'], group: 'pubsub', summary: 'Listens for messages published to channels that match one or more patterns, on any node of the cluster.', since: '2.0.0', handler: pubsubCommands.psubscribe },
  punsubscribe: { syntax: '[pattern [pattern ...]]', arity: -1, flags: ['pubsub', 'noscript', 'loading', 'stale'], group: 'pubsub', summary: 'Stops listening to messages published to channels that match one or more patterns.', since: '2.0.0', handler: pubsubCommands.punsubscribe },
  publish: { syntax: 'channel message', arity: 3, flags: ['pubsub', 'loading', 'stale', 'fast'], group: 'pubsub', summary: 'Posts a message to a channel on every node; returns the receivers counted across the nodes that answered (at most once).', since: '2.0.0', handler: pubsubCommands.publish, concurrent: true },
  pubsub: { syntax: 'CHANNELS [pattern]|NUMSUB [channel [channel ...]]|NUMPAT|SHARDCHANNELS [pattern]|SHARDNUMSUB [shardchannel [shardchannel ...]]|HELP', arity: -2, flags: ['pubsub', 'loading', 'stale'], group: 'pubsub', summary: 'PUBSUB CHANNELS | NUMSUB | NUMPAT across the cluster (the nodes that answer); SHARDCHANNELS | SHARDNUMSUB (no shards: none) | HELP.', since: '2.8.0', handler: pubsubCommands.pubsub, concurrent: true },
  ssubscribe: { syntax: 'shardchannel [shardchannel ...]', arity: -2, flags: ['pubsub', 'noscript', 'loading', 'stale'], group: 'pubsub', summary: 'Refused: ringkv has no shards; SUBSCRIBE reaches every node.', since: '7.0.0', handler: pubsubCommands.ssubscribe },
  sunsubscribe: { syntax: '[shardchannel [shardchannel ...]]', arity: -1, flags: ['pubsub', 'noscript', 'loading', 'stale'], group: 'pubsub', summary: 'Refused, as SSUBSCRIBE is.', since: '7.0.0', handler: pubsubCommands.sunsubscribe },
  spublish: { syntax: 'shardchannel message', arity: 3, flags: ['pubsub', 'loading', 'stale', 'fast'], group: 'pubsub', summary: 'Refused: ringkv has no shards; PUBLISH reaches every node.', since: '7.0.0', handler: pubsubCommands.spublish },
  // ringkv
  vclock: { syntax: 'key', arity: 2, flags: ['readonly'], keys: [1, 1, 1], group: 'ringkv', summary: 'Returns the key\'s causal context, for inspection: to resolve siblings use SIBLINGS key WITHVCLOCK (one read).', since: '0.1.0', handler: clusterCommands.vclock, concurrent: true },
  siblings: { syntax: 'key [WITHVCLOCK] [WITHTYPES]', arity: -2, flags: ['readonly'], keys: [1, 1, 1], group: 'ringkv', summary: 'Returns every sibling value of a key; WITHVCLOCK adds the context that covers exactly them, from the same read; WITHTYPES shows each as [type, value].', since: '0.1.0', handler: clusterCommands.siblings, concurrent: true },
  consistency: { syntax: '[r w [STRICT]|DEFAULT]', arity: -1, flags: ['fast', 'stale'], group: 'ringkv', summary: 'Shows or sets this connection\'s read and write quorum; STRICT counts only the key\'s primaries.', since: '0.1.0', handler: clusterCommands.consistency },
  ring: { syntax: 'MEMBERS|OWNERS key|LOCAL key|REPAIR [STATUS]|REMOVE id|LEAVE|TRANSFER|PLAN kind [id]', arity: -2, flags: ['readonly', 'stale'], group: 'ringkv', summary: 'RING MEMBERS | OWNERS key | LOCAL key | REPAIR [STATUS] | REMOVE id | LEAVE | TRANSFER | PLAN JOIN|LEAVE|REMOVE [id]: the ring, a key\'s replicas, anti-entropy now, removing a dead member, leaving, the ring transfer under way, what a change would move.', since: '0.1.0', handler: clusterCommands.ring },
};

function specOf(name: string, d: Definition): CommandSpec {
  const [firstKey, lastKey, step] = d.keys ?? [0, 0, 0];
  const spec: CommandSpec = {
    name, arity: d.arity, flags: d.flags, firstKey, lastKey, step,
    group: d.group, summary: d.summary, since: d.since, handler: d.handler, arguments: parseSyntax(d.syntax),
  };
  return d.concurrent === undefined ? spec : { ...spec, concurrent: d.concurrent };
}

/** Name → spec; each command under its lowercase and uppercase name so the common lookup needs no case folding. */
export function buildCommandTable(): Map<string, CommandSpec> {
  const table = new Map<string, CommandSpec>();
  for (const [name, d] of Object.entries(definitions)) {
    const spec = specOf(name, d);
    table.set(name, spec);
    table.set(name.toUpperCase(), spec);
  }
  return table;
}

/** Finds a command by the name a client sent, in any case. */
export function lookupCommand(table: ReadonlyMap<string, CommandSpec>, name: Buffer): CommandSpec | undefined {
  const known = nameIndexOf(table).find(name);
  const spec = known === undefined ? undefined : table.get(known);
  if (spec !== undefined) return spec;
  const text = name.toString('latin1');
  return table.get(text) ?? table.get(text.toLowerCase());
}

/**
 * The table's lowercase names, found from a request's bytes without making a
 * string of them (a string per command was ~5% of a pipelined GET's CPU).
 * Only a shortcut: the name found is looked up in the table itself, and a
 * name the index lacks (one added since it was built) takes the string path.
 */
class NameIndex {
  /** Names by length, then by their first byte lowercased. */
  private readonly byLength: (Map<number, { readonly bytes: Buffer; readonly name: string }[]> | undefined)[] = [];

  constructor(names: Iterable<string>) {
    for (const name of names) {
      if (name !== name.toLowerCase()) continue;
      const bytes = Buffer.from(name, 'latin1');
      const byFirst = this.byLength[bytes.length] ??= new Map();
      let bucket = byFirst.get(bytes[0]!);
      if (bucket === undefined) byFirst.set(bytes[0]!, (bucket = []));
      bucket.push({ bytes, name });
    }
  }

  find(name: Buffer): string | undefined {
    if (name.length === 0) return undefined;
    const bucket = this.byLength[name.length]?.get(lowerAscii(name[0]!));
    if (bucket === undefined) return undefined;
    for (const candidate of bucket) if (equalsIgnoringAsciiCase(name, candidate.bytes)) return candidate.name;
    return undefined;
  }
}

const nameIndexes = new WeakMap<ReadonlyMap<string, CommandSpec>, NameIndex>();

function nameIndexOf(table: ReadonlyMap<string, CommandSpec>): NameIndex {
  let index = nameIndexes.get(table);
  if (index === undefined) nameIndexes.set(table, (index = new NameIndex(table.keys())));
  return index;
}

/** ASCII letters only, as Redis's strcasecmp; no Latin-1 letter lowercases into a command name. */
function lowerAscii(byte: number): number {
  return byte >= 0x41 && byte <= 0x5a ? byte + 0x20 : byte;
}

/** `lower` is lowercase and as long as `bytes`. */
function equalsIgnoringAsciiCase(bytes: Buffer, lower: Buffer): boolean {
  for (let i = 0; i < lower.length; i++) if (lowerAscii(bytes[i]!) !== lower[i]) return false;
  return true;
}
