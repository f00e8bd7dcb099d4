import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findManifests, loadManifest } from '../../src/connectors/loader';
import type { ManifestProblem } from '../../src/connectors/loader';

// A connector written from the docs, with the slips an engineer makes: each must be named at its
// place with a guess at what was meant, and nothing the runtime does bind may be reported.
const MANIFEST = `name: disc
version: 1.0.0
title: Disc
description: test connector
auth: { type: webhook_url }
config:
  type: object
  additionalProperties: false
  properties:
    username: { type: string }
    embed:
      type: object
      additionalProperties: false
      properties:
        colour: { type: integer }
actions:
  post:
    method: POST
    url: "{{ $credentials.webhook_url }}"
    body: '{"content": content, "username": $config.username, "color": $config.embed.colour, "id": $event.data.id, "by": $connection.id}'
    response: { id: "id" }
triggers:
  - event: review.created
    actions: [post]
    when: "data.rating > 2"
    mapping_file: mappings/review.jsonata
`;

const MAPPING = `/* A review as a message. */
(
  $stars := function($n) { $pad("", $n, "*") };
  {
    "content": $stars(data.rating) & " " & data.title & " by " & data.author.name,
    "photos": $map(data.photos, function($p) { $p.anything }),
    "verified": data.author[verified = true].name,
    "first": data.photos[0],
    "root": $$.data.business_id
  }
)
`;

let root: string;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'hh-bindings-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function problemsOf(manifest: string, mapping = MAPPING): ManifestProblem[] {
  const dir = path.join(root, 'disc');
  mkdirSync(path.join(dir, 'mappings'), { recursive: true });
  writeFileSync(path.join(dir, 'connector.yaml'), manifest);
  writeFileSync(path.join(dir, 'mappings', 'review.jsonata'), mapping);
  const result = loadManifest(path.join(dir, 'connector.yaml'), root);
  return result.ok ? [] : result.problems;
}

describe('binding and path checks of a manifest', () => {
  it('passes what the runtime binds: settings, credentials, the event, locals, lambdas and predicates', () => {
    expect(problemsOf(MANIFEST)).toEqual([]);
  });

  it('passes every shipped connector', () => {
    const shipped = path.resolve(__dirname, '../../connectors');
    const problems = findManifests(shipped).flatMap((file) => {
      const result = loadManifest(file, shipped);
      return result.ok ? [] : result.problems;
    });
    expect(problems).toEqual([]);
  });

  it('names a misspelt binding, with what was meant', () => {
    const problems = problemsOf(MANIFEST.replace('$credentials.webhook_url', '$credential.webhook_url'));
    expect(problems).toEqual([
      expect.objectContaining({ path: '/actions/post/url', line: 19, message: expect.stringMatching(/^\$credential is not bound .*; did you mean \$credentials\?$/) }),
    ]);
  });

  it('names a connection value the auth block does not keep', () => {
    const problems = problemsOf(MANIFEST.replace('$connection.id', '$connection.instance_url'));
    expect(problems).toEqual([expect.objectContaining({ path: '/actions/post/body', message: expect.stringContaining('"instance_url" is not a field of $connection') })]);
    expect(problems[0]?.message).toContain('webhook_url auth keeps no token values');
  });

  it('names settings the settings schema does not declare, nested ones too', () => {
    const problems = problemsOf(MANIFEST.replace('$config.username', '$config.usrname').replace('$config.embed.colour', '$config.embed.color'));
    expect(problems.map((p) => p.message)).toEqual([
      expect.stringMatching(/^\$config\.usrname: "usrname" is not a field of \$config .*did you mean "username"\?$/),
      expect.stringMatching(/^\$config\.embed\.color: "color" is not a field of \$config\.embed .*did you mean "colour"\?$/),
    ]);
  });

  it('names $config when the manifest declares no settings', () => {
    const problems = problemsOf(MANIFEST.replace(/config:\n(  .*\n)+/, '').replace(', "color": $config.embed.colour', ''));
    expect(problems).toEqual([expect.objectContaining({ message: expect.stringContaining('the manifest declares no config') })]);
  });

  it('names a data field the trigger\'s event does not have, in a mapping file at its line and column', () => {
    const problems = problemsOf(MANIFEST, MAPPING.replace('data.title', 'data.ttle').replace('data.author.name,', 'data.author.nmae,'));
    expect(problems).toEqual([
      expect.objectContaining({ file: path.join(root, 'disc', 'mappings', 'review.jsonata'), line: 5, column: 49, path: '/triggers/0/mapping_file', message: expect.stringContaining('did you mean "title"?') }),
      expect.objectContaining({ line: 5, column: 77, message: expect.stringMatching(/^data\.author\.nmae: .*the review\.created event.*did you mean "name"\?$/) }),
    ]);
  });

  it('names a data field in a when and in $event of an action, for the events of the triggers that run it', () => {
    const problems = problemsOf(MANIFEST.replace('data.rating > 2', 'data.ratting > 2').replace('$event.data.id', '$event.data.idd'));
    expect(problems.map((p) => [p.path, p.message])).toEqual([
      ['/triggers/0/when', expect.stringContaining('did you mean "rating"?')],
      ['/actions/post/body', expect.stringContaining('did you mean "id"?')],
    ]);
  });

  it('names a field of a value that has none, and a JSONata function misspelt', () => {
    const problems = problemsOf(MANIFEST, MAPPING.replace('$pad(', '$padd(').replace('$$.data.business_id', 'data.rating.stars'));
    expect(problems.map((p) => p.message)).toEqual([
      expect.stringMatching(/^\$padd is not bound .*; did you mean \$pad\?$/),
      expect.stringMatching(/^data\.rating\.stars: data\.rating is an integer .*, which has no field "stars"$/),
    ]);
  });

  it('names a binding an expression over the response does not have, and a step no action is called', () => {
    const manifest = MANIFEST.replace('response: { id: "id" }', 'response: { id: "$config.username" }').replace('"by": $connection.id', '"by": $steps.pst.id');
    expect(problemsOf(manifest).map((p) => [p.path, p.message])).toEqual([
      ['/actions/post/body', expect.stringContaining('did you mean "post"?')],
      ['/actions/post/response/id', expect.stringMatching(/^\$config is not bound in an expression over the response .*\$status, \$headers/)],
    ]);
  });

  it('leaves alone a field an open event schema may carry that is no slip of a declared one', () => {
    expect(problemsOf(MANIFEST, MAPPING.replace('$$.data.business_id', 'data.business_name ? data.business_name : data.business_id'))).toEqual([]);
  });
});
