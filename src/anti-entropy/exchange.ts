// One anti-entropy exchange, initiator side (being written).

/** One key of a leaf with its record hash (tree-keeper.ts's LeafEntry, same shape). */
export interface LeafEntry {
  readonly key: Buffer;
  readonly hi: number;
  readonly lo: number;
}
