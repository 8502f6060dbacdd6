/**
 * Moving the time-skipping server's clock without racing the workflows a test drives. Two faults of that server
 * (temporal-test-server) turn a race into a hung or wrong test, more often on a loaded machine:
 * - It strands a run whose workflow task cancels a timer that fired while the task was with the worker: it refuses
 *   the completion ("invalid history builder state for action") and never hands the task out again
 *   (temporalio/sdk-java#3088). Such a timer is common right after a skip: a skip lands exactly on the time asked for,
 *   while each timer starts a few milliseconds after the instant its workflow task ran, so a chain of 15-minute
 *   timers meets a loop of 25-minute skips every 75 minutes, due a few milliseconds after that skip ends; a signal
 *   sent then wakes the run, which cancels that timer as it fires.
 * - A run closed while it has work open can leave the server's time-skipping lock held (temporalio/sdk-java#1138):
 *   after a run was terminated with a task open, the next test's skips hung.
 * And `env.sleep` returns once the clock is there, not once the work its timers started is done: a test reading the
 * status at once can see the state from before that work.
 */
import { WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import type { Duration, SignalDefinition } from '@temporalio/common';
import { tsToMs } from '@temporalio/common/lib/time';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { setTimeout as delay } from 'node:timers/promises';

/** A test acts on a run only when none of its timers is due within this. */
const TIMER_GUARD_MS = 5_000;
/** How long to wait for open tasks and activities; a run busy longer (a stuck fake) is left as it is. */
const SETTLE_LIMIT_MS = 10_000;

/** The clock of one time-skipping server, moved around the runs the current test watches. */
export class SkippedClock {
  private readonly runs = new Set<WorkflowHandle>();

  constructor(private readonly env: TestWorkflowEnvironment) {}

  /** Makes every skip, signal and settle wait on this run until `terminateAll`. */
  watch<H extends WorkflowHandle>(handle: H): H {
    this.runs.add(handle);
    return handle;
  }

  /**
   * Moves the clock by `duration`, then waits for the work its timers started: `env.sleep` returns once the clock is
   * there, and a status read at once could miss that work.
   */
  async skip(duration: Duration): Promise<void> {
    await this.env.sleep(duration);
    await this.untilIdle();
  }

  /** Signals once no timer of the watched runs is due within TIMER_GUARD_MS: see `settle`. */
  async signal<Args extends unknown[]>(
    handle: WorkflowHandle,
    signal: SignalDefinition<Args>,
    ...args: Args
  ): Promise<void> {
    await this.clearOfTimers();
    await handle.signal(signal, ...args);
  }

  /**
   * Waits until no watched run has a workflow task or activity open, and no timer of theirs is due within
   * TIMER_GUARD_MS (the clock moves past it, and the work it starts is waited for), so that what the test reads,
   * changes or sends next races neither.
   */
  async settle(): Promise<void> {
    await this.untilIdle();
    await this.clearOfTimers();
  }

  /** Moves the clock past every timer due within TIMER_GUARD_MS, waiting for the work each starts. */
  private async clearOfTimers(): Promise<void> {
    // That work may start another timer due at once; a few rounds are plenty, and bounded.
    for (let round = 0; round < 4; round++) {
      const dueAt = Math.min(...(await this.states()).map((s) => s.nextTimerDueAt ?? Infinity));
      const now = await this.env.currentTimeMs();
      if (dueAt - now > TIMER_GUARD_MS) return;
      await this.env.sleep(Math.max(0, dueAt - now) + 1);
      await this.untilIdle();
    }
  }

  /** Waits (at most SETTLE_LIMIT_MS) until no watched run has a workflow task or activity open. */
  private async untilIdle(): Promise<void> {
    const settleBy = Date.now() + SETTLE_LIMIT_MS;
    while ((await this.states()).some((s) => s.busy) && Date.now() < settleBy) await delay(20);
  }

  /** Terminates the watched runs still open, once settled (see sdk-java#1138 above), and stops watching them. */
  async terminateAll(): Promise<void> {
    await this.settle();
    const runs = [...this.runs];
    this.runs.clear();
    await Promise.all(
      runs.map((handle) =>
        handle.terminate('test ended').catch((err: unknown) => {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        }),
      ),
    );
  }

  private states(): Promise<RunState[]> {
    return Promise.all([...this.runs].map((handle) => runState(handle)));
  }
}

interface RunState {
  /** When the earliest pending timer fires, by the server's clock. */
  nextTimerDueAt?: number;
  /** A workflow task or an activity is open. */
  busy: boolean;
}

/** From the current run's history; a closed run is neither busy nor waiting on a timer. */
async function runState(handle: WorkflowHandle): Promise<RunState> {
  const events = (await handle.fetchHistory()).events ?? [];
  const last = events.at(-1);
  if (
    last?.workflowExecutionCompletedEventAttributes ||
    last?.workflowExecutionFailedEventAttributes ||
    last?.workflowExecutionTimedOutEventAttributes ||
    last?.workflowExecutionTerminatedEventAttributes ||
    last?.workflowExecutionCanceledEventAttributes ||
    last?.workflowExecutionContinuedAsNewEventAttributes
  ) {
    return { busy: false };
  }
  const timersDueAt = new Map<string, number>(); // by the TimerStarted event's id
  const open = new Set<string>(); // the Scheduled event ids of open workflow tasks and activities
  for (const event of events) {
    const id = String(event.eventId);
    const timer = event.timerStartedEventAttributes;
    if (timer) timersDueAt.set(id, tsToMs(event.eventTime) + tsToMs(timer.startToFireTimeout));
    const timerEnded = event.timerFiredEventAttributes ?? event.timerCanceledEventAttributes;
    if (timerEnded) timersDueAt.delete(String(timerEnded.startedEventId));
    if (event.workflowTaskScheduledEventAttributes || event.activityTaskScheduledEventAttributes) open.add(id);
    const closed =
      event.workflowTaskCompletedEventAttributes ??
      event.workflowTaskFailedEventAttributes ??
      event.workflowTaskTimedOutEventAttributes ??
      event.activityTaskCompletedEventAttributes ??
      event.activityTaskFailedEventAttributes ??
      event.activityTaskTimedOutEventAttributes ??
      event.activityTaskCanceledEventAttributes;
    if (closed) open.delete(String(closed.scheduledEventId));
  }
  return {
    nextTimerDueAt: timersDueAt.size ? Math.min(...timersDueAt.values()) : undefined,
    busy: open.size > 0,
  };
}
