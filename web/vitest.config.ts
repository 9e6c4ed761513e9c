// Vitest for the web client's logic (tests/web): plain node, no DOM; the
// modules under test take their browser parts as arguments.
import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

export default defineConfig({
    root: fileURLToPath(new URL('..', import.meta.url)),
    test: {
        include: ['tests/web/**/*.test.ts'],
        environment: 'node',
    },
});
