import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const root = path.resolve(__dirname, '../..');
const storeFile = path.join(root, 'src/store/store.ts');
const contractDir = path.join(root, 'test/contract');

/**
 * Every method of every storage port, read from the type the adapters implement
 * (Store in src/store/store.ts, the intersection of the ports): port name, its
 * file, and its method names. A port added to Store is covered by this check
 * without touching it.
 */
function storagePorts(): Array<{ port: string; file: string; methods: string[] }> {
  const program = ts.createProgram([storeFile], { strict: true, noEmit: true, skipLibCheck: true, types: [] });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(storeFile);
  let alias: ts.TypeAliasDeclaration | undefined;
  source?.forEachChild((node) => {
    if (ts.isTypeAliasDeclaration(node) && node.name.text === 'Store') alias = node;
  });
  if (!alias || !ts.isIntersectionTypeNode(alias.type)) throw new Error('src/store/store.ts no longer declares Store as an intersection of ports');
  return alias.type.types.map((node) => {
    const type = checker.getTypeFromTypeNode(node);
    const declaration = type.aliasSymbol?.declarations?.[0] ?? type.getSymbol()?.declarations?.[0];
    return {
      port: node.getText(source),
      file: declaration ? path.relative(root, declaration.getSourceFile().fileName) : '?',
      methods: checker.getPropertiesOfType(type).map((p) => p.name),
    };
  });
}

/** The text of the contract suites and their shared adapter list. */
function contractSources(): string {
  return readdirSync(contractDir)
    .filter((name) => name.endsWith('.ts'))
    .map((name) => readFileSync(path.join(contractDir, name), 'utf8'))
    .join('\n');
}

describe('storage contract coverage', () => {
  const ports = storagePorts();

  it('reads the ports the adapters implement', () => {
    expect(ports.length).toBeGreaterThan(10);
    expect(ports.flatMap((p) => p.methods)).toEqual(expect.arrayContaining(['claimRateSlot', 'insertEvents', 'scanSealed', 'ping']));
  });

  it('calls every method of every storage port in a contract suite (run against every adapter)', () => {
    const suites = contractSources();
    const uncalled = ports.flatMap(({ port, file, methods }) =>
      methods.filter((method) => !new RegExp(`\\.${method}\\(`).test(suites)).map((method) => `${port}.${method} (${file})`),
    );
    expect(uncalled).toEqual([]);
  });
});
