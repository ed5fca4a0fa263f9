// redis-parser ships no types; this covers the part ringkv uses.
declare module 'redis-parser' {
  interface RedisParserOptions {
    returnReply: (reply: any) => void;
    returnError: (error: Error) => void;
    returnFatalError?: (error: Error) => void;
    returnBuffers?: boolean;
    stringNumbers?: boolean;
  }
  class RedisParser {
    constructor(options: RedisParserOptions);
    execute(data: Buffer): void;
    reset(): void;
  }
  export = RedisParser;
}
