"""Microsoft's own Python client for Azure DevOps (azure-devops on PyPI), unmodified, against
the sandbox: discovery, WIQL, work items, updates, team iterations and comments.

Run by tests/tests/all/ado.rs as: python ado_python_client.py BASE_URL PAT
Prints one JSON object with what it read; any failure is an exception and a non-zero exit.
"""
import json
import sys

from azure.devops.connection import Connection
from azure.devops.v7_1.work_item_tracking.models import CommentCreate, Wiql
from azure.devops.v7_1.work.models import TeamContext
from msrest.authentication import BasicAuthentication

base, pat = sys.argv[1], sys.argv[2]
connection = Connection(base_url=base, creds=BasicAuthentication("", pat))
wit = connection.clients_v7_1.get_work_item_tracking_client()
work = connection.clients_v7_1.get_work_client()
core = connection.clients_v7_1.get_core_client()

project = core.get_project("Portfolio", include_capabilities=True)
result = wit.query_by_wiql(
    Wiql(query="SELECT [System.Id] FROM WorkItems WHERE [System.TeamProject] = 'Portfolio' "
               "AND [System.WorkItemType] = 'Epic' ORDER BY [System.Id]"),
    team_context=TeamContext(project="Portfolio"),
)
ids = [w.id for w in result.work_items]
items = wit.get_work_items(ids, project="Portfolio", fields=["System.Id", "System.Title", "System.State"])
batch = wit.get_work_items_batch(
    {"ids": ids[:2], "$expand": "relations"}, project="Portfolio")
updates = wit.get_updates(ids[0], project="Portfolio")
iterations = work.get_team_iterations(TeamContext(project="Portfolio", team="Mobile"))
comment = wit.add_comment(CommentCreate(text="Checked by the Python client"), "Portfolio", ids[-1])
comments = wit.get_comments("Portfolio", ids[-1])
print(json.dumps({
    "process": project.capabilities["processTemplate"]["templateName"],
    "epics": ids,
    "titles": [w.fields["System.Title"] for w in items],
    "relations": sum(len(w.relations or []) for w in batch),
    "updates": len(updates),
    "iterations": [i.name for i in iterations],
    "comment": comment.id,
    "comments": comments.total_count,
}))
