import { execFile } from 'node:child_process';
import path from 'node:path';

/**
 * The dependency rules of eslint.config.mjs, checked against deliberate violations: a rule that
 * silently stopped matching (a renamed folder, a changed pattern) would otherwise let the code drift.
 * Each case is linted as text under a path it pretends to have, so no file is written. ESLint runs
 * in a child process (its flat config is an ES module, which Jest's loader cannot import), once for
 * all cases.
 */
const root = path.join(__dirname, '..');

interface Case {
  filePath: string;
  code: string;
}

const RUNNER = `
const { ESLint } = require('eslint');
let input = '';
process.stdin.on('data', (d) => (input += d));
process.stdin.on('end', async () => {
  const eslint = new ESLint({ cwd: process.cwd() });
  const out = [];
  for (const c of JSON.parse(input)) {
    const [result] = await eslint.lintText(c.code, { filePath: c.filePath });
    out.push(result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message));
  }
  process.stdout.write(JSON.stringify(out));
});
`;

/** The boundary messages for each case, in order. */
function restrictedImports(cases: Case[]): Promise<string[][]> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, ['-e', RUNNER], { cwd: root, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`eslint runner failed: ${stderr || err.message}`));
      resolve(JSON.parse(stdout) as string[][]);
    });
    child.stdin!.end(JSON.stringify(cases));
  });
}

const refused: Array<[string, Case]> = [
  ['infra importing http', { filePath: 'src/infra/example.ts', code: "import '../http/problem';" }],
  ['infra importing a module', { filePath: 'src/infra/images/example.ts', code: "import '../../modules/module';" }],
  [
    "a module importing another module's repository",
    { filePath: 'src/modules/pets/example.ts', code: "import '../sitters/sitters.repository';" },
  ],
  [
    'a router importing a repository',
    { filePath: 'src/modules/pets/example.router.ts', code: "import './pets.repository';" },
  ],
];

const allowed: Array<[string, Case]> = [
  [
    'a service using infra, the application errors and its own repository',
    {
      filePath: 'src/modules/pets/example.service.ts',
      code: "import '../../infra/db';\nimport '../../errors';\nimport './pets.repository';",
    },
  ],
  ['infra using the application errors', { filePath: 'src/infra/example.ts', code: "import '../errors';" }],
];

describe('import boundaries (npm run lint)', () => {
  let results: string[][];

  beforeAll(async () => {
    results = await restrictedImports([...refused, ...allowed].map(([, c]) => c));
  }, 120_000);

  it.each(refused.map(([name], i) => [name, i] as const))('refuses %s', (_name, i) => {
    expect(results[i]).toHaveLength(1);
  });

  it.each(allowed.map(([name], i) => [name, refused.length + i] as const))('allows %s', (_name, i) => {
    expect(results[i]).toEqual([]);
  });
});
