import { Flags } from '@oclif/core'
import { PARALLEL_DEFAULT, PARALLEL_RANGE } from '../core/parallel.js'

/** --parallel of the commands that take several machines; checked by checkParallelFlag (one-line error). */
export const parallelFlag = {
  parallel: Flags.string({
    env: 'MACHINE_PARALLEL',
    description: `how many machines to work on at once (${PARALLEL_RANGE.min}-${PARALLEL_RANGE.max}) [default: ${PARALLEL_DEFAULT}]`,
  }),
}
