/** One place in line: wait for `ready` before the step that must keep the line's order, then call `done`. */
export interface Turn {
  /** Resolves once every turn taken before this one is done. */
  ready: Promise<void>;
  done(): void;
}

/**
 * Places in line, handed out in the order they are taken. A turn is over once it is done and every
 * turn before it is over, whether or not it waited for them: a turn that had nothing to keep in order
 * (and so did not wait) cannot let a later turn go before an earlier one.
 */
export class Turns {
  private last: Promise<void> = Promise.resolve();

  take(): Turn {
    let done!: () => void;
    const own = new Promise<void>((resolve) => {
      done = resolve;
    });
    const ready = this.last;
    this.last = ready.then(() => own);
    return { ready, done };
  }
}
