import type { Clock } from '../../src/clock.js'

/** A clock tests move by hand instead of sleeping. */
export interface TestClock extends Clock {
  advance(ms: number): void
  set(ms: number): void
}

export function testClock(start = Date.now()): TestClock {
  let now = start
  const clock = (() => now) as TestClock
  clock.advance = (ms) => {
    now += ms
  }
  clock.set = (ms) => {
    now = ms
  }
  return clock
}
