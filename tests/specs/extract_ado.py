#!/usr/bin/env python3
"""Cut the parts of Microsoft's Azure DevOps 7.1 specifications that Tollgate's azure-devops
plugin and sandbox use into tests/specs/ado-openapi-subset.json, for the fidelity tests
(tests/tests/all/ado.rs and ado_fidelity.rs).

Sources (read-only copies in the team's shared reference folder, see its specs/README.md):
  ado-wit-7.1.openapi.json   work item tracking (Swagger 2.0)
  ado-work-7.1.openapi.json  work: team settings, iterations, capacities
The operations are kept as Microsoft wrote them, with every definition and shared parameter
they reference, and so are the `x-ms-paths` variants of the kept paths (the same path with a
query that selects another operation, e.g. `recyclebin?ids={ids}`), keyed as Microsoft keys
them; the validator picks a variant when the request carries its query parameters.
Run: python3 tests/specs/extract_ado.py SPEC_DIR
"""
import json, sys, os

spec_dir = sys.argv[1] if len(sys.argv) > 1 else '../shared/reference/specs'
def load(name):
    with open(os.path.join(spec_dir, name), encoding='utf-8-sig') as f:
        return json.load(f)
wit = load('ado-wit-7.1.openapi.json')
work = load('ado-work-7.1.openapi.json')

WIT_PATHS = [
    '/{organization}/{project}/{team}/_apis/wit/wiql',
    '/{organization}/{project}/{team}/_apis/wit/wiql/{id}',
    '/{organization}/{project}/_apis/wit/workitems',
    '/{organization}/{project}/_apis/wit/workitems/{id}',
    '/{organization}/{project}/_apis/wit/workitems/${type}',
    '/{organization}/{project}/_apis/wit/workitemsbatch',
    '/{organization}/{project}/_apis/wit/workItems/{id}/updates',
    '/{organization}/{project}/_apis/wit/workItems/{id}/updates/{updateNumber}',
    '/{organization}/{project}/_apis/wit/workItems/{id}/revisions',
    '/{organization}/{project}/_apis/wit/workItems/{id}/revisions/{revisionNumber}',
    '/{organization}/{project}/_apis/wit/workItems/{workItemId}/comments',
    '/{organization}/{project}/_apis/wit/workItems/{workItemId}/comments/{commentId}',
    '/{organization}/{project}/_apis/wit/fields',
    '/{organization}/{project}/_apis/wit/fields/{fieldNameOrRefName}',
    '/{organization}/{project}/_apis/wit/workitemtypes',
    '/{organization}/{project}/_apis/wit/workitemtypes/{type}',
    '/{organization}/{project}/_apis/wit/workitemtypes/{type}/states',
    '/{organization}/{project}/_apis/wit/classificationnodes',
    '/{organization}/{project}/_apis/wit/classificationnodes/{structureGroup}/{path}',
    '/{organization}/{project}/_apis/wit/recyclebin',
    '/{organization}/{project}/_apis/wit/recyclebin/{id}',
    '/{organization}/_apis/wit/workitemrelationtypes',
    '/{organization}/_apis/wit/workitemrelationtypes/{relation}',
]
WORK_PATHS = [
    '/{organization}/{project}/{team}/_apis/work/teamsettings',
    '/{organization}/{project}/{team}/_apis/work/teamsettings/iterations',
    '/{organization}/{project}/{team}/_apis/work/teamsettings/iterations/{id}',
    '/{organization}/{project}/{team}/_apis/work/teamsettings/iterations/{iterationId}/capacities',
    '/{organization}/{project}/{team}/_apis/work/teamsettings/iterations/{iterationId}/capacities/{teamMemberId}',
    '/{organization}/{project}/{team}/_apis/work/teamsettings/iterations/{iterationId}/teamdaysoff',
    '/{organization}/{project}/{team}/_apis/work/teamsettings/iterations/{iterationId}/workitems',
]
KEEP = ('parameters', 'responses', 'operationId', 'consumes', 'produces', 'x-ms-vss-method')
METHODS = ('get', 'post', 'put', 'patch', 'delete', 'head', 'options')

def refs(node, out):
    if isinstance(node, dict):
        r = node.get('$ref')
        if isinstance(r, str) and r.startswith('#/'):
            out.add(tuple(r[2:].split('/')))
        for v in node.values():
            refs(v, out)
    elif isinstance(node, list):
        for v in node:
            refs(v, out)

def cut(doc, paths):
    kept = {}
    for p in paths:
        kept[p] = {m: {k: v for k, v in op.items() if k in KEEP}
                   for m, op in doc['paths'][p].items() if m in METHODS}
    # The variants of a kept path with a fixed query (`recyclebin?ids={ids}`), as they are.
    for key, ops in (doc.get('x-ms-paths') or {}).items():
        if key.split('?')[0] in paths:
            kept[key] = {m: {k: v for k, v in op.items() if k in KEEP}
                         for m, op in ops.items() if m in METHODS}
    wanted, done, out = set(), set(), {'definitions': {}, 'parameters': {}}
    refs(kept, wanted)
    while wanted - done:
        r = sorted(wanted - done)[0]
        done.add(r)
        section, name = r
        node = doc[section][name]
        out[section][name] = node
        refs(node, wanted)
    return kept, out

wit_paths, wit_parts = cut(wit, WIT_PATHS)
work_paths, work_parts = cut(work, WORK_PATHS)
merged = {'definitions': {}, 'parameters': {}}
for parts in (wit_parts, work_parts):
    for section in merged:
        for n, s in parts[section].items():
            if n in merged[section] and merged[section][n] != s:
                raise SystemExit(f'{section}/{n} differs between the two documents')
            merged[section][n] = s
out = {
    'info': {
        'description': "Subset of Microsoft's Azure DevOps REST 7.1 specifications (wit, work) "
                       'for Tollgate fidelity tests; cut by tests/specs/extract_ado.py',
        'wit_version': wit.get('info', {}).get('version'),
        'work_version': work.get('info', {}).get('version'),
    },
    'swagger': '2.0',
    'paths': {**wit_paths, **work_paths},
    **merged,
}
with open(os.path.join(os.path.dirname(__file__), 'ado-openapi-subset.json'), 'w') as f:
    json.dump(out, f, indent=1, sort_keys=True)
    f.write('\n')
print(len(out['paths']), 'paths,', len(out['definitions']), 'definitions')

# Microsoft's example exchanges, one file, for the replay test (tests/tests/all/ado_fidelity.rs).
examples_dir = os.path.join(spec_dir, 'ado-examples')
examples = {}
for name in sorted(os.listdir(examples_dir)):
    if name.endswith('.json'):
        with open(os.path.join(examples_dir, name), encoding='utf-8-sig') as f:
            examples[name[:-len('.json')]] = json.load(f)
with open(os.path.join(os.path.dirname(__file__), 'ado-examples.json'), 'w') as f:
    json.dump(examples, f, indent=1, sort_keys=True)
    f.write('\n')
print(len(examples), 'examples')
