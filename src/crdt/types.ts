// Every convergent type this node knows, registered with the registry
// (registry.ts) when this module loads. Whatever reads or writes typed
// versions imports it once (the coordinator does), so a node never meets a
// type it could have known but did not load.

import { applyCounterOperation, counterText, counterType, counterValue, decodeCounterOperation, type CounterState } from './counter.js';
import { registerType } from './registry.js';

/** Redis's OBJ_ENCODING_EMBSTR_SIZE_LIMIT: longer strings are "raw". */
const embstrBytesMax = 44;
const int64Max = (1n << 63n) - 1n;
const int64Min = -(1n << 63n);

/** Redis's answer for the string a counter shows: "int" when it fits a long (as INCR's results are), else by length. */
export function counterEncoding(state: CounterState): string {
  const value = counterValue(state);
  if (value.e === 0 && value.m <= int64Max && value.m >= int64Min) return 'int';
  return counterText(state).length <= embstrBytesMax ? 'embstr' : 'raw';
}

registerType<CounterState>({
  convergent: counterType,
  redisType: 'string',
  objectEncoding: counterEncoding,
  stringForm: (state) => Buffer.from(counterText(state), 'latin1'),
  apply: (view, operation, writer) => applyCounterOperation(view, decodeCounterOperation(operation), writer),
});
