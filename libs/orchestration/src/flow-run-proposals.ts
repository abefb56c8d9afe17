import { StateCreateDto } from '@app/contracts';
import { OrchestrationOutcome } from '@app/domain';
import { Database } from '@app/persistence';
import { Injectable, Logger } from '@nestjs/common';
import { BatchedOutcome, ClaimScope, FlowRunTransitions, ProposalFor, TransitionOptions } from './flow-run-transitions';

/**
 * At most this many proposals share a transaction: enough to share one commit flush among all the claims of 16
 * workers at once, few enough that the lock statement and the write stay short.
 */
const MAX_BATCH = 64;

interface Waiting {
  proposal: ProposalFor;
  resolve: (result: BatchedOutcome) => void;
  reject: (error: unknown) => void;
}

/**
 * Proposals for flow runs by id, each in a transaction of its own as far as its caller can tell, but grouped (group
 * commit): while a transaction is in flight, proposals arriving queue up, and the next transaction takes them all
 * (`FlowRunTransitions.transitionManyById`): one lock statement, one write, one commit, instead of four statements and
 * a commit flush each. A batch holds at most one proposal per run, so a second proposal for a run waits for the
 * next batch and sees the first's outcome, as it would have after waiting for the run's lock. Should the batch
 * fail (a statement, a rule that throws), its proposals run again one by one, so that the failure is only theirs
 * whose proposal caused it. A claim is proposed alone by its caller, not here: it comes back `alone` wherever another
 * proposal would have been proposed again in a transaction of its own.
 */
@Injectable()
export class FlowRunProposals {
  private readonly logger = new Logger(FlowRunProposals.name);
  private readonly queue: Waiting[] = [];
  private draining = false;

  constructor(
    private readonly db: Database,
    private readonly transitions: FlowRunTransitions,
  ) {}

  /** `transitionById` in a transaction of its (or its batch's) own: resolves to the outcome, null for an unknown run. */
  async propose(
    id: string,
    proposal: StateCreateDto,
    options: TransitionOptions,
  ): Promise<OrchestrationOutcome | null> {
    const result = await this.enqueue({ id, proposal, options });
    // Only a claim comes back alone.
    return 'alone' in result ? null : result.outcome;
  }

  /**
   * A worker's claim of the run `id` (see {@link ClaimScope}), in a batch when others come at once: its outcome with
   * the run as written, `{ outcome: null }` for a run unknown or outside the pool, or `alone` for the caller to
   * decide the claim in a transaction of its own (the claim came alone, its scope wants it alone, or the batch failed).
   */
  claim(id: string, claim: ClaimScope, proposal: StateCreateDto, options: TransitionOptions): Promise<BatchedOutcome> {
    return this.enqueue({ id, proposal, options, claim });
  }

  private enqueue(proposal: ProposalFor): Promise<BatchedOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ proposal, resolve, reject });
      if (this.draining) return;
      this.draining = true;
      // Requests read from the sockets in the same turn of the event loop reach this point before it runs, so even
      // the first batch after a quiet spell groups what arrived together.
      setImmediate(() => void this.drain());
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) await this.run(this.takeBatch());
    } finally {
      this.draining = false;
    }
  }

  /** The first proposals queued, one per run, at most {@link MAX_BATCH}; the others keep their place in the queue. */
  private takeBatch(): Waiting[] {
    const ids = new Set<string>();
    const batch: Waiting[] = [];
    for (let i = 0; i < this.queue.length && batch.length < MAX_BATCH;) {
      const waiting = this.queue[i];
      if (ids.has(waiting.proposal.id)) {
        i++;
        continue;
      }
      ids.add(waiting.proposal.id);
      batch.push(waiting);
      this.queue.splice(i, 1);
    }
    return batch;
  }

  /** Settles every proposal of the batch; never rejects. */
  private async run(batch: Waiting[]): Promise<void> {
    if (batch.length === 1) return this.alone(batch[0]);
    let results;
    try {
      results = await this.db.transaction((tx) =>
        this.transitions.transitionManyById(
          tx,
          batch.map(({ proposal }) => proposal),
        ),
      );
    } catch (error) {
      this.logger.debug({ message: 'batch of proposals failed; proposing one by one', error: String(error) });
      for (const waiting of batch) await this.alone(waiting);
      return;
    }
    const alone: Waiting[] = [];
    results.forEach((result, i) => {
      if ('alone' in result) alone.push(batch[i]);
      else batch[i].resolve(result);
    });
    await Promise.all(alone.map((waiting) => this.alone(waiting)));
  }

  private async alone({ proposal: { id, proposal, options, claim }, resolve, reject }: Waiting): Promise<void> {
    if (claim) return resolve({ alone: true });
    try {
      resolve(
        await this.db.transaction(async (tx): Promise<BatchedOutcome> => {
          const locked = await tx.flowRuns.lockForTransition(id);
          return locked ? this.transitions.transitionLocked(tx, locked, proposal, options) : { outcome: null };
        }),
      );
    } catch (error) {
      reject(error);
    }
  }
}
