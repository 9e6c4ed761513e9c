// The benchmarks write their results into docs/benchmarks.md, each as one
// "## Title" section that replaces the one of the previous run.
import fs from 'node:fs';
import path from 'node:path';
import { TOP } from '../lib/nginx.mjs';

export const BENCH_DOC = path.join(TOP, 'docs/benchmarks.md');

// section: the whole text, starting with its "## title" line.
export function writeDocSection(title, section) {
    let doc = fs.readFileSync(BENCH_DOC, 'utf8');
    const start = doc.indexOf(`\n## ${title}\n`);
    if (start >= 0) {
        const next = doc.indexOf('\n## ', start + 1);
        doc = doc.slice(0, start + 1) + section + (next >= 0 ? `\n${doc.slice(next + 1)}` : '');
    } else {
        doc = `${doc.replace(/\n*$/, '\n')}\n${section}`;
    }
    fs.writeFileSync(BENCH_DOC, doc);
    console.log(`wrote the "## ${title}" section of ${path.relative(TOP, BENCH_DOC)}`);
}
