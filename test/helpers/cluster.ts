// Real-process cluster harness: integration tests (and the benchmark runner)
// start actual `node bin/ringkv.js start` processes on free 127.0.0.1 ports
// with throw-away data directories, because the behaviour worth testing —
// sockets, LevelDB on disk, gossip between OS processes, clean SIGTERM — only
// exists there. Readiness is observed from outside, the way an operator would:
// a node is up when its RESP port answers PING, a cluster is converged when
// every node's `INFO cluster` reports all members up. Every process and temp
// dir is tracked so a failing test leaks nothing, and each node keeps the tail
// of its output so a timeout explains itself.
// Deliberately free of ava, so benchmarks can use it too.
import { fieldsOf, request as requestReplies } from '../../src/cli/resp-client.js';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis, type RedisOptions } from 'ioredis';
import { freePortPair } from './ports.js';

const host = '127.0.0.1';
const outputLinesMax = 200;
// A line without a newline (a runaway write) is cut here rather than grown.
const outputLineCharsMax = 16_384;
const errorTailLines = 40;
const readyTimeoutMs = 20_000;
const convergeTimeoutMs = 30_000;
const pollIntervalMs = 150;
// SIGTERM grace: a clean node shutdown flushes LevelDB well within this.
const stopGraceMs = 10_000;
const probeTimeoutMs = 2_000;
const probeReplyBytesMax = 1 << 20;
const cliTimeoutMs = 10_000;
const tempRmRetries = 5;
const tempRmRetryDelayMs = 100;
// After Ctrl-C, how long to wait for killed children to be reaped.
const signalReapWaitMs = 2_000;

/** The repository root: the nearest ancestor holding bin/ringkv.js, so cwd never matters. */
export const repoRoot: string = findRepoRoot(path.dirname(fileURLToPath(import.meta.url)));
const ringkvBin = path.join(repoRoot, 'bin', 'ringkv.js');

function findRepoRoot(start: string): string {
  let dir = start;
  for (let depth = 0; depth < 10; depth++) {
    if (existsSync(path.join(dir, 'bin', 'ringkv.js'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(`cannot find bin/ringkv.js above ${start}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The last lines a process wrote (stdout and stderr interleaved), as a ring buffer. */
/**
 * Node options for every ringkv process a test or benchmark starts, from
 * RINGKV_NODE_EXEC_ARGS (space-separated), e.g. `--cpu-prof
 * --cpu-prof-dir=/tmp/prof` to profile a benchmark's nodes: NODE_OPTIONS
 * refuses --cpu-prof.
 */
function nodeExecArgs(): string[] {
  return (process.env.RINGKV_NODE_EXEC_ARGS ?? '').split(' ').filter((a) => a !== '');
}

export class OutputTail {
  private readonly lines: string[] = [];
  private oldest = 0;
  private partial = '';

  constructor(private readonly capacity = outputLinesMax) {}

  write(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.push(line);
    if (this.partial.length > outputLineCharsMax) {
      this.push(this.partial.slice(0, outputLineCharsMax) + ' …[cut]');
      this.partial = '';
    }
  }

  push(line: string): void {
    if (this.lines.length < this.capacity) {
      this.lines.push(line);
      return;
    }
    this.lines[this.oldest] = line;
    this.oldest = (this.oldest + 1) % this.capacity;
  }

  /** The last `count` lines, oldest first. */
  tail(count = this.capacity): string {
    const ordered = [...this.lines.slice(this.oldest), ...this.lines.slice(0, this.oldest)];
    if (this.partial !== '') ordered.push(this.partial);
    return ordered.slice(-count).join('\n');
  }
}

// Everything alive or on disk that an abrupt exit must still clean up.
const liveProcesses = new Set<ManagedProcess>();
const tempDirs = new Set<string>();
let emergencyCleanupInstalled = false;
// Set on a signal so that code still running cannot spawn more children.
let shuttingDown = false;

function emergencyCleanupSync(): void {
  for (const proc of liveProcesses) proc.signal('SIGKILL');
  for (const dir of tempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: tempRmRetries, retryDelay: tempRmRetryDelayMs });
    } catch {
      // best effort on the way out; nothing left to report to
    }
  }
}

// On a signal, kill children and wait (briefly) for their exits so they are
// reaped rather than left as zombies, remove temp dirs, then let the signal
// take its ordinary course (re-raised once our one-shot listener is gone).
async function cleanupOnSignal(sig: NodeJS.Signals): Promise<void> {
  shuttingDown = true;
  const exits = [...liveProcesses].map((proc) => proc.exited);
  for (const proc of liveProcesses) proc.signal('SIGKILL');
  await Promise.race([Promise.all(exits), sleep(signalReapWaitMs)]);
  emergencyCleanupSync();
  process.kill(process.pid, sig);
}

function installEmergencyCleanup(): void {
  if (emergencyCleanupInstalled) return;
  emergencyCleanupInstalled = true;
  process.once('exit', emergencyCleanupSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, () => void cleanupOnSignal(sig));
}

/** A fresh directory under os.tmpdir(), removed by removeTempDir or at process exit. */
export async function makeTempDir(prefix = 'ringkv-test-'): Promise<string> {
  installEmergencyCleanup();
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: tempRmRetries, retryDelay: tempRmRetryDelayMs });
  tempDirs.delete(dir);
}

export interface SpawnOptions {
  /** shared across restarts so the tail spans them */
  output?: OutputTail;
  /** keep up to this many bytes of stdout verbatim (for tools whose output we parse) */
  stdoutBytesMax?: number;
  cwd?: string;
}

/** A tracked child process: output tail, exit promise, kill and graceful stop. */
export class ManagedProcess {
  readonly output: OutputTail;
  readonly exited: Promise<void>;
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  spawnError: Error | undefined;
  private readonly child: ChildProcess;
  private running = true;
  /** The harness sent it a signal (kill, stop, pause): an exit after that was asked for. */
  private signalled = false;
  private stdoutChunks: Buffer[] = [];
  private stdoutBytes = 0;

  constructor(readonly label: string, command: string, args: string[], options: SpawnOptions = {}) {
    installEmergencyCleanup();
    if (shuttingDown) throw new Error(`not starting ${label}: shutting down`);
    this.output = options.output ?? new OutputTail();
    const stdoutBytesMax = options.stdoutBytesMax ?? 0;
    this.child = spawn(command, args, { cwd: options.cwd ?? repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    liveProcesses.add(this);
    this.child.stdout?.on('data', (chunk: Buffer) => {
      this.output.write(chunk.toString('utf8'));
      if (this.stdoutBytes + chunk.length <= stdoutBytesMax) {
        this.stdoutChunks.push(chunk);
        this.stdoutBytes += chunk.length;
      }
    });
    this.child.stderr?.on('data', (chunk: Buffer) => this.output.write(chunk.toString('utf8')));
    this.exited = new Promise((resolve) => {
      const done = (): void => {
        this.running = false;
        liveProcesses.delete(this);
        resolve();
      };
      this.child.once('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        done();
      });
      this.child.once('error', (err) => {
        this.spawnError = err;
        this.output.push(`[harness] ${label}: ${err.message}`);
        if (this.child.pid === undefined) done();
      });
    });
  }

  get alive(): boolean {
    return this.running;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get stdout(): string {
    return Buffer.concat(this.stdoutChunks).toString('utf8');
  }

  signal(sig: NodeJS.Signals): void {
    this.signalled = true;
    if (this.running) this.child.kill(sig);
  }

  /** Ended without the harness signalling it: a crash, an outside kill (OOM), or a node that exited by itself. */
  get exitedUnasked(): boolean {
    return !this.running && !this.signalled;
  }

  /** SIGKILL and wait for the exit. */
  async kill(): Promise<void> {
    this.signal('SIGKILL');
    await this.exited;
  }

  /** SIGTERM, wait up to graceMs, then SIGKILL; returns the exit code (null when a signal ended it). */
  async stop(graceMs = stopGraceMs): Promise<number | null> {
    this.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), graceMs);
    });
    const outcome = await Promise.race([this.exited.then(() => 'exited' as const), graceOver]);
    clearTimeout(timer);
    if (outcome === 'late') {
      this.output.push(`[harness] ${this.label}: no exit ${graceMs} ms after SIGTERM, sending SIGKILL`);
      await this.kill();
    }
    return this.exitCode;
  }

  describeExit(): string {
    if (this.spawnError) return `failed to start: ${this.spawnError.message}`;
    return this.exitSignal ? `killed by ${this.exitSignal}` : `exited with code ${this.exitCode}`;
  }
}

interface Reply {
  ok: boolean;
  text: string;
}

function encodeCommand(args: string[]): string {
  return `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('');
}

// Enough RESP2 for probes: simple strings, errors, integers, bulk strings.
function parseReply(buf: Buffer): { reply: Reply; end: number } | undefined {
  const lineEnd = buf.indexOf('\r\n');
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buf[0] ?? 0);
  const line = buf.toString('utf8', 1, lineEnd);
  if (type === '$') {
    const length = Number.parseInt(line, 10);
    if (length < 0) return { reply: { ok: true, text: '' }, end: lineEnd + 2 };
    const end = lineEnd + 2 + length + 2;
    if (buf.length < end) return undefined;
    return { reply: { ok: true, text: buf.toString('utf8', lineEnd + 2, end - 2) }, end };
  }
  if (type === '+' || type === ':') return { reply: { ok: true, text: line }, end: lineEnd + 2 };
  if (type === '-') return { reply: { ok: false, text: line }, end: lineEnd + 2 };
  return { reply: { ok: false, text: `unexpected reply type ${JSON.stringify(type)}` }, end: lineEnd + 2 };
}

/**
 * Send commands on one fresh connection and return their replies in order.
 * A raw socket rather than ioredis: a probe must not retry, queue or log.
 */
export function respRequest(port: number, commands: string[][], timeoutMs = probeTimeoutMs): Promise<Reply[]> {
  return new Promise((resolve, reject) => {
    const replies: Reply[] = [];
    let buffer = Buffer.alloc(0);
    let settled = false;
    const socket = net.connect({ host, port });
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(replies);
    };
    const timer = setTimeout(() => finish(new Error(`no reply from ${host}:${port} within ${timeoutMs} ms`)), timeoutMs);
    socket.once('connect', () => socket.write(commands.map(encodeCommand).join('')));
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (buffer.length > probeReplyBytesMax) return finish(new Error(`reply over ${probeReplyBytesMax} bytes`));
      for (let parsed = parseReply(buffer); parsed && replies.length < commands.length; parsed = parseReply(buffer)) {
        replies.push(parsed.reply);
        buffer = buffer.subarray(parsed.end);
      }
      if (replies.length === commands.length) finish();
    });
    socket.once('error', (err) => finish(err));
    socket.once('close', () => finish(new Error(`${host}:${port} closed the connection before replying`)));
  });
}

function withAuth(password: string | undefined, command: string[]): string[][] {
  return password === undefined ? [command] : [['AUTH', password], command];
}

/** One command's reply text; a RESP error reply rejects. */
export async function respCommand(port: number, command: string[], password?: string): Promise<string> {
  const replies = await respRequest(port, withAuth(password, command));
  const last = replies[replies.length - 1];
  if (!last || !last.ok) throw new Error(`${command[0]} on port ${port}: ${last?.text ?? 'no reply'}`);
  return last.text;
}

function failureReport(what: string, proc: ManagedProcess): Error {
  return new Error(`${what}\n--- last ${errorTailLines} lines of ${proc.label} ---\n${proc.output.tail(errorTailLines)}`);
}

/** Poll until the port answers PING with PONG; fail early, with the output tail, if the process dies. */
export async function waitForPing(port: number, proc: ManagedProcess, timeoutMs: number, password?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastProblem = 'no attempt made';
  const attemptsMax = Math.ceil(timeoutMs / pollIntervalMs) + 1;
  for (let attempt = 0; attempt < attemptsMax && Date.now() < deadline; attempt++) {
    if (!proc.alive) throw failureReport(`${proc.label} ${proc.describeExit()} before answering PING`, proc);
    try {
      if ((await respCommand(port, ['PING'], password)) === 'PONG') {
        // Another process may hold the port (a node of another test file that got the same free port): its PONG
        // would pass for this one's, which then fails to bind and exits, unseen until a test misses it.
        const pid = /^process_id:(\d+)/m.exec(await respCommand(port, ['INFO', 'server'], password))?.[1];
        if (pid === undefined || Number(pid) === proc.pid) return;
        lastProblem = `port ${port} is answered by another process (pid ${pid})`;
      } else {
        lastProblem = 'PING did not return PONG';
      }
    } catch (err) {
      lastProblem = (err as Error).message;
    }
    await sleep(pollIntervalMs);
  }
  throw failureReport(`${proc.label} did not answer PING on port ${port} within ${timeoutMs} ms (${lastProblem})`, proc);
}

export interface NodeOptions {
  id?: string;
  port?: number;
  peerPort?: number;
  /** an existing data dir; by default a temp dir the node owns and removes */
  dataDir?: string;
  /** peer addresses host:peerPort; without seeds the node is a cluster of one */
  seeds?: string[];
  n?: number;
  r?: number;
  w?: number;
  vnodes?: number;
  requirepass?: string;
  secret?: string;
  extraArgs?: string[];
  readyTimeoutMs?: number;
}

export interface ClientOptions {
  /** RESP version; ioredis defaults to 3 */
  protocol?: 2 | 3;
  /** defaults to the node's requirepass */
  password?: string;
  /** any further ioredis options, applied last */
  redis?: RedisOptions;
}

function startArgs(o: NodeOptions & { id: string; port: number; peerPort: number; dataDir: string }): string[] {
  const args = ['start', '--node-id', o.id, '--bind', host, '--port', String(o.port), '--peer-port', String(o.peerPort), '--data', o.dataDir];
  if (o.seeds && o.seeds.length > 0) args.push('--seeds', o.seeds.join(','));
  const numeric: Array<[string, number | undefined]> = [['--n', o.n], ['--r', o.r], ['--w', o.w], ['--vnodes', o.vnodes]];
  for (const [flag, value] of numeric) if (value !== undefined) args.push(flag, String(value));
  if (o.requirepass !== undefined) args.push('--requirepass', o.requirepass);
  if (o.secret !== undefined) args.push('--cluster-secret', o.secret);
  return [...args, ...(o.extraArgs ?? [])];
}

/** One ringkv node process; survives kill/stop so it can be restarted with the same identity. */
export class RingkvNode {
  readonly output = new OutputTail();
  readonly args: string[];
  private proc: ManagedProcess | undefined;
  private readonly clients = new Set<Redis>();
  private launches = 0;

  constructor(
    readonly id: string,
    readonly port: number,
    readonly peerPort: number,
    readonly dataDir: string,
    private readonly options: NodeOptions,
    private readonly ownsDataDir: boolean,
  ) {
    this.args = startArgs({ ...options, id, port, peerPort, dataDir });
  }

  get alive(): boolean {
    return this.proc?.alive ?? false;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** How the process ended when the harness did not end it; undefined while it runs or after kill/stop. */
  unaskedExit(): string | undefined {
    return this.proc?.exitedUnasked === true ? this.proc.describeExit() : undefined;
  }

  /** Spawn the process and wait until it answers PING. */
  async launch(timeoutMs = this.options.readyTimeoutMs ?? readyTimeoutMs): Promise<void> {
    if (this.alive) throw new Error(`node ${this.id} is already running`);
    this.launches += 1;
    if (this.launches > 1) this.output.push(`[harness] --- restart #${this.launches - 1} of ${this.id} ---`);
    this.proc = new ManagedProcess(`ringkv node ${this.id}`, process.execPath, [...nodeExecArgs(), ringkvBin, ...this.args], { output: this.output });
    await waitForPing(this.port, this.proc, timeoutMs, this.options.requirepass);
  }

  /**
   * An ioredis client that fails fast: no reconnects, no retries, and once
   * connected no offline queue, so a command to a dead node errors at once.
   */
  client(opts: ClientOptions = {}): Redis {
    const client = new Redis({
      host,
      port: this.port,
      protocol: opts.protocol ?? 3,
      password: opts.password ?? this.options.requirepass,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: probeTimeoutMs * 2,
      ...opts.redis,
    });
    // Unhandled 'error' events only print noise; the failing command rejects anyway.
    client.on('error', () => undefined);
    client.once('ready', () => {
      client.options.enableOfflineQueue = false;
    });
    this.clients.add(client);
    return client;
  }

  /** SIGKILL and wait for the exit. */
  async kill(): Promise<void> {
    await this.proc?.kill();
  }

  /** SIGTERM and wait; returns the exit code (null when it had to be killed or ended by a signal). */
  async stop(): Promise<number | null> {
    if (!this.proc) return null;
    return this.proc.stop();
  }

  /** Same id, ports, data dir and args; stops the node first if it still runs. */
  async restart(timeoutMs?: number): Promise<void> {
    if (this.alive) await this.stop();
    await this.launch(timeoutMs);
  }

  /** `redis-cli -p port ...args`; resolves with stdout. */
  cli(...args: string[]): Promise<string> {
    const auth = this.options.requirepass !== undefined ? ['-a', this.options.requirepass, '--no-auth-warning'] : [];
    const argv = ['-h', host, '-p', String(this.port), ...auth, ...args];
    return new Promise((resolve, reject) => {
      execFile('redis-cli', argv, { timeout: cliTimeoutMs }, (err, stdout, stderr) => {
        if (err) reject(new Error(`redis-cli ${args.join(' ')}: ${err.message}\n${stderr}`));
        else resolve(stdout);
      });
    });
  }

  /** `INFO section` over a raw connection. */
  info(section: string): Promise<string> {
    return respCommand(this.port, ['INFO', section], this.options.requirepass);
  }

  /** Each member's state (joining/normal/leaving/left) as RING MEMBERS on this node lists it. */
  async memberStates(): Promise<string[]> {
    const replies = await requestReplies(host, this.port, withAuth(this.options.requirepass, ['RING', 'MEMBERS']), probeTimeoutMs);
    const members = replies[replies.length - 1];
    if (!Array.isArray(members)) throw new Error(`node ${this.id}: RING MEMBERS answered ${String(members)}`);
    return members.map((m) => fieldsOf(m).get('state') ?? '?');
  }

  /** cluster_members_up as this node reports it. */
  async membersUp(): Promise<number> {
    const match = /^cluster_members_up:(\d+)/m.exec(await this.info('cluster'));
    if (!match) throw new Error(`node ${this.id}: INFO cluster has no cluster_members_up line`);
    return Number(match[1]);
  }

  closeClients(): void {
    for (const client of this.clients) client.disconnect();
    this.clients.clear();
  }

  /** Close clients, SIGKILL, and remove the data dir if the harness made it. */
  async cleanup(): Promise<void> {
    this.closeClients();
    await this.kill();
    if (this.ownsDataDir) await removeTempDir(this.dataDir);
  }
}

async function createNode(opts: NodeOptions): Promise<RingkvNode> {
  const ports = opts.port !== undefined && opts.peerPort !== undefined ? { port: opts.port, peerPort: opts.peerPort } : await freePortPair();
  const dataDir = opts.dataDir ?? (await makeTempDir('ringkv-node-'));
  const id = opts.id ?? `node-${ports.port}`;
  return new RingkvNode(id, ports.port, ports.peerPort, dataDir, opts, opts.dataDir === undefined);
}

/** Start one node on free ports with a temp data dir; resolves once it answers PING. */
export async function startNode(opts: NodeOptions = {}): Promise<RingkvNode> {
  const portsChosen = opts.port !== undefined && opts.peerPort !== undefined;
  for (let attempt = 1; ; attempt++) {
    const node = await createNode(opts);
    try {
      await node.launch();
      return node;
    } catch (err) {
      await node.cleanup();
      // Ports it chose itself were taken before the node bound them: new ones (see startCluster).
      if (portsChosen || attempt >= portRaceAttemptsMax || !String((err as Error).message).includes('EADDRINUSE')) throw err;
    }
  }
}

export interface ClusterOptions {
  nodes: number;
  n?: number;
  r?: number;
  w?: number;
  vnodes?: number;
  secret?: string;
  requirepass?: string;
  extraArgs?: string[];
  readyTimeoutMs?: number;
  convergeTimeoutMs?: number;
}

export class Cluster {
  private cleaned = false;

  constructor(readonly nodes: RingkvNode[]) {}

  /** Wait until every live node reports cluster_members_up:expectedUp. */
  async waitConverged(expectedUp: number, timeoutMs = convergeTimeoutMs): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const attemptsMax = Math.ceil(timeoutMs / pollIntervalMs) + 1;
    let seen = new Map<RingkvNode, string>();
    for (let attempt = 0; attempt < attemptsMax && Date.now() < deadline; attempt++) {
      seen = await this.pollMembersUp();
      if ([...seen.values()].every((v) => v === String(expectedUp))) return;
      await sleep(pollIntervalMs);
    }
    throw this.convergeFailure(expectedUp, timeoutMs, seen);
  }

  /**
   * Wait until every live node lists every member as normal: nodes started
   * together may find N normal members already there and join by streaming
   * (hints/ring-handoff.ts), which takes a few seconds even with no data.
   */
  async waitNormal(timeoutMs = convergeTimeoutMs): Promise<void> {
    const settled = await eventually(async () => {
      const views = await Promise.all(this.nodes.filter((node) => node.alive).map((node) => node.memberStates()));
      return views.every((states) => states.every((state) => state === 'normal'));
    }, timeoutMs, pollIntervalMs);
    if (!settled) throw new Error(`cluster members did not all become normal within ${timeoutMs} ms`);
  }

  private async pollMembersUp(): Promise<Map<RingkvNode, string>> {
    const live = this.nodes.filter((node) => node.alive);
    const values = await Promise.all(live.map((node) => node.membersUp().then(String, (err: Error) => `error: ${err.message}`)));
    return new Map(live.map((node, i) => [node, values[i] ?? 'no answer']));
  }

  private convergeFailure(expectedUp: number, timeoutMs: number, seen: Map<RingkvNode, string>): Error {
    // A node that died by itself meanwhile is not polled: name it, or the failure reads as a gossip fault.
    const died = this.nodes.filter((node) => node.unaskedExit() !== undefined);
    const summary = [...[...seen].map(([node, up]) => `${node.id}=${up}`), ...died.map((node) => `${node.id} ${node.unaskedExit()!}`)].join(', ');
    const tails = [...[...seen].filter(([, up]) => up !== String(expectedUp)).map(([node]) => node), ...died]
      .map((node) => `--- last ${errorTailLines} lines of ${node.id} ---\n${node.output.tail(errorTailLines)}`);
    return new Error(`cluster did not converge to cluster_members_up:${expectedUp} within ${timeoutMs} ms (${summary})\n${tails.join('\n')}`);
  }

  /** Kill every node, close every client, remove every temp dir. Safe to call twice. */
  async cleanup(): Promise<void> {
    if (this.cleaned) return;
    this.cleaned = true;
    await Promise.all(this.nodes.map((node) => node.cleanup()));
  }
}

/**
 * Start K nodes, each given the same seed list (every peer address, its own
 * included), and wait until each answers PING and all report K members up.
 */
export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startClusterOnce(opts);
    } catch (err) {
      // A port found free can be taken before the node binds it (another test process, an outgoing
      // connection's ephemeral port): start over on new ports rather than fail the file.
      if (attempt >= portRaceAttemptsMax || !String((err as Error).message).includes('EADDRINUSE')) throw err;
    }
  }
}

/** Cluster starts tried when a node lost its port to another process between freePort and its bind. */
const portRaceAttemptsMax = 3;

async function startClusterOnce(opts: ClusterOptions): Promise<Cluster> {
  const pairs = await Promise.all(Array.from({ length: opts.nodes }, () => freePortPair()));
  const seeds = pairs.map((p) => `${host}:${p.peerPort}`);
  const { nodes: count, convergeTimeoutMs: converge, ...shared } = opts;
  const nodes = await Promise.all(pairs.map((p, i) => createNode({ ...shared, ...p, id: `n${i + 1}`, seeds })));
  const cluster = new Cluster(nodes);
  try {
    const launched = await Promise.allSettled(nodes.map((node) => node.launch()));
    const failed = launched.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    await cluster.waitConverged(count, converge);
    await cluster.waitNormal(converge);
  } catch (err) {
    await cluster.cleanup();
    throw err;
  }
  return cluster;
}

/** Polls `probe` (a failure counts as false) until it holds or `timeoutMs` passes; bounded in attempts too. */
export async function eventually(probe: () => Promise<boolean>, timeoutMs: number, pollMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; attempt < Math.ceil(timeoutMs / pollMs) + 1; attempt++) {
    if (await probe().catch(() => false)) return true;
    if (Date.now() >= deadline) break;
    await sleep(pollMs);
  }
  return false;
}

/** A numeric INFO field (`name:123`); throws when the reply lacks it, so a renamed field fails loudly. */
export function infoNumber(info: string, name: string): number {
  const match = new RegExp(`^${name}:(\\d+)`, 'm').exec(info);
  if (!match) throw new Error(`INFO has no ${name}`);
  return Number(match[1]);
}

/** `ringkv status -p port`: its stdout. */
export function ringkvStatus(port: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [path.join(repoRoot, 'bin', 'ringkv.js'), 'status', '-p', String(port)], { timeout: 15_000 }, (err, out, stderr) => {
      if (err) reject(new Error(`ringkv status: ${err.message}\n${stderr}`));
      else resolve(out);
    });
  });
}

/** `wanted` keys `<prefix>:<batch>:<i>` whose preference list (RING OWNERS) holds every one of `owners`. */
export async function keysOwnedBy(client: Redis, owners: readonly string[], prefix: string, wanted: number): Promise<string[]> {
  const keys: string[] = [];
  for (let batch = 0; keys.length < wanted; batch++) {
    const candidates = Array.from({ length: 4 * wanted }, (_, i) => `${prefix}:${batch}:${i}`);
    const p = client.pipeline();
    for (const key of candidates) p.call('RING', 'OWNERS', key);
    const lists = (await p.exec())!.map(([err, reply]) => {
      if (err) throw err;
      return (reply as [string, string][]).map(([id]) => id);
    });
    candidates.forEach((key, i) => {
      if (keys.length < wanted && owners.every((id) => lists[i]!.includes(id))) keys.push(key);
    });
  }
  return keys;
}

/** `ringkv ARGS…` (the CLI, run to completion): its exit code, stdout and stderr. */
export function runRingkv(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(repoRoot, 'bin', 'ringkv.js'), ...args], { timeout: 120_000 }, (err, out, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, out, err: stderr });
    });
  });
}

/** Waits until every one of `nodes` lists `members` members, all normal (a join or leave done everywhere). */
export function waitAllNormal(nodes: readonly RingkvNode[], members: number, timeoutMs = 60_000): Promise<boolean> {
  return eventually(async () => {
    const views = await Promise.all(nodes.map((n) => n.memberStates()));
    return views.every((v) => v.length === members && v.every((state) => state === 'normal'));
  }, timeoutMs, 200);
}
