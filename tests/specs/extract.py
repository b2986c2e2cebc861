#!/usr/bin/env python3
"""Cut the parts of Atlassian's OpenAPI documents that Tollgate's Jira plugin and sandbox use
into tests/specs/jira-openapi-subset.json, for the fidelity test (tests/tests/all/jira.rs).

Sources (read-only copies in the team's shared reference folder, see its specs/README.md):
  jira-platform-v3.openapi.json   Jira Cloud platform REST, December 2025
  jira-software-agile.openapi.json Jira Software (Agile 1.0), 2022
The operations are kept as Atlassian wrote them (parameters, responses, examples), with
every component schema they reference. Run: python3 tests/specs/extract.py SPEC_DIR
"""
import json, sys, os

spec_dir = sys.argv[1] if len(sys.argv) > 1 else '../shared/reference/specs'
platform = json.load(open(os.path.join(spec_dir, 'jira-platform-v3.openapi.json')))
agile = json.load(open(os.path.join(spec_dir, 'jira-software-agile.openapi.json')))

PLATFORM_PATHS = [
    '/rest/api/3/myself', '/rest/api/3/field', '/rest/api/3/issuetype',
    '/rest/api/3/search/jql', '/rest/api/3/search',
    '/rest/api/3/issue/{issueIdOrKey}', '/rest/api/3/issue/{issueIdOrKey}/worklog',
    '/rest/api/3/worklog/updated', '/rest/api/3/worklog/deleted', '/rest/api/3/worklog/list',
    '/rest/api/3/issue/{issueIdOrKey}/comment', '/rest/api/3/issue/{issueIdOrKey}/comment/{id}',
    '/rest/api/3/comment/{commentId}/properties',
    '/rest/api/3/comment/{commentId}/properties/{propertyKey}',
    '/rest/api/3/serverInfo', '/rest/api/3/project/{projectIdOrKey}',
    '/rest/api/3/issue/{issueIdOrKey}/transitions', '/rest/api/3/search/approximate-count',
    '/rest/api/3/issue/{issueIdOrKey}/changelog', '/rest/api/3/issue/bulkfetch',
]
AGILE_PATHS = [
    '/rest/agile/1.0/board', '/rest/agile/1.0/board/{boardId}/sprint',
    '/rest/agile/1.0/sprint/{sprintId}', '/rest/agile/1.0/sprint/{sprintId}/issue',
]
KEEP = ('parameters', 'requestBody', 'responses', 'deprecated', 'operationId')

def refs(node, out):
    if isinstance(node, dict):
        r = node.get('$ref')
        if isinstance(r, str) and r.startswith('#/components/schemas/'):
            out.add(r.split('/')[-1])
        for v in node.values():
            refs(v, out)
    elif isinstance(node, list):
        for v in node:
            refs(v, out)

def cut(doc, paths):
    kept = {}
    for p in paths:
        ops = doc['paths'][p]
        kept[p] = {m: {k: v for k, v in op.items() if k in KEEP}
                   for m, op in ops.items() if m in ('get', 'post', 'put', 'delete', 'parameters')}
    names, done = set(), set()
    refs(kept, names)
    names.add('ErrorCollection') if 'ErrorCollection' in doc.get('components', {}).get('schemas', {}) else None
    schemas = {}
    while names - done:
        n = sorted(names - done)[0]
        done.add(n)
        s = doc['components']['schemas'][n]
        schemas[n] = s
        refs(s, names)
    return kept, schemas

p_paths, p_schemas = cut(platform, PLATFORM_PATHS)
a_paths, a_schemas = cut(agile, AGILE_PATHS)
for n, s in a_schemas.items():
    assert n not in p_schemas or p_schemas[n] == s, n
out = {
    'info': {
        'description': 'Subset of Atlassian Jira OpenAPI documents (platform v3, Dec 2025; '
                       'Agile 1.0, 2022) for Tollgate fidelity tests; cut by tests/specs/extract.py',
        'platform_version': platform.get('info', {}).get('version'),
        'agile_version': agile.get('info', {}).get('version'),
    },
    'paths': {**p_paths, **a_paths},
    'components': {'schemas': {**p_schemas, **a_schemas}},
}
with open(os.path.join(os.path.dirname(__file__), 'jira-openapi-subset.json'), 'w') as f:
    json.dump(out, f, indent=1, sort_keys=True)
    f.write('\n')
print(len(out['paths']), 'paths,', len(out['components']['schemas']), 'schemas')
