/** Whether process `pid` exists (EPERM: it does, owned by someone else): a lock's or temp file's owner. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}
