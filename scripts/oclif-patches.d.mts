// Types of scripts/oclif-patches.mjs for the tests that import it (test/unit/command-order.test.ts).
import type { Plugin } from 'esbuild'
export declare function lazyRequires(source: string): { source: string; count: number }
export declare function commandOrder(source: string, comparatorPath: string): string
export declare function oclifPatches(root: string): Plugin
