/**
 * Milliseconds of CPU this process has used so far (user and system). Tests that guard against
 * super-linear work bound the CPU a call takes rather than the wall-clock time: on a loaded
 * machine the wall clock also counts the time spent waiting for a core, the CPU time does not.
 * Vitest runs each test file in its own process (`pool: 'forks'`), so only this file's work counts.
 */
export function cpuNow(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}
