// jira.js (from the npm registry), unmodified, against the sandbox's Jira: the calls a team's
// script makes. Run by tests/tests/all/jira_client.rs as:
//   node jira_js_client.js cloud BASE_URL EMAIL API_TOKEN
//   node jira_js_client.js data-center BASE_URL PAT
// Prints one JSON object with what it read; any failure is an exception and a non-zero exit.
const { Version2Client, Version3Client, AgileClient } = require('jira.js');

async function main() {
  const [flavour, host, a, b] = process.argv.slice(2);
  const cloud = flavour === 'cloud';
  const authentication = cloud
    ? { basic: { email: a, apiToken: b } }
    : { oauth2: { accessToken: a } }; // Data Center PATs travel as bearer tokens
  const jira = cloud ? new Version3Client({ host, authentication }) : new Version2Client({ host, authentication });
  const agile = new AgileClient({ host, authentication });
  const out = {};

  const info = await jira.serverInfo.getServerInfo();
  out.deploymentType = info.deploymentType;
  out.me = (await jira.myself.getCurrentUser()).displayName;
  out.project = (await jira.projects.getProject({ projectIdOrKey: 'BIZ' })).key;

  // Search and page: the enhanced search on Cloud, startAt paging on Data Center.
  const keys = [];
  if (cloud) {
    let nextPageToken;
    do {
      const page = await jira.issueSearch.searchForIssuesUsingJqlEnhancedSearchPost({
        jql: 'project = BIZ ORDER BY key', fields: ['summary', 'status'], maxResults: 100, nextPageToken,
      });
      keys.push(...page.issues.map((i) => i.key));
      nextPageToken = page.nextPageToken;
    } while (nextPageToken);
    out.approximateCount = (await jira.issueSearch.countIssues({ jql: 'project = BIZ' })).count;
  } else {
    let startAt = 0;
    for (;;) {
      const page = await jira.issueSearch.searchForIssuesUsingJqlPost({
        jql: 'project = BIZ ORDER BY key', fields: ['summary', 'status'], maxResults: 100, startAt,
      });
      keys.push(...page.issues.map((i) => i.key));
      startAt += page.issues.length;
      if (page.issues.length === 0 || startAt >= page.total) break;
    }
  }
  out.searched = keys.length;

  // One issue, read whole and with chosen fields; its transitions and worklogs.
  const issue = await jira.issues.getIssue({ issueIdOrKey: 'BIZ-9', expand: 'names' });
  out.summary = issue.fields.summary;
  out.names = Object.keys(issue.names || {}).length;
  out.transitions = (await jira.issues.getTransitions({ issueIdOrKey: 'BIZ-9' })).transitions.map((t) => t.name);
  out.worklogs = (await jira.issueWorklogs.getIssueWorklog({ issueIdOrKey: process.env.WORKLOG_ISSUE || 'BIZ-30' })).total;
  try {
    await jira.issues.getIssue({ issueIdOrKey: 'BIZ-99999' });
    out.missing = 'found';
  } catch (e) {
    out.missing = e.status || (e.response && e.response.status) || String(e);
  }

  // Add a comment, edit it, read it back.
  const body = (text) => (cloud
    ? { type: 'doc', version: 1, content: [{ type: 'paragraph', content: [{ type: 'text', text }] }] }
    : text);
  const added = await jira.issueComments.addComment({ issueIdOrKey: 'BIZ-9', comment: body('From jira.js') });
  // (Version3 names the new body `body`, Version2 `comment`.)
  const edited = body('Edited by jira.js');
  await jira.issueComments.updateComment({ issueIdOrKey: 'BIZ-9', id: added.id, body: edited, comment: edited });
  const read = await jira.issueComments.getComment({ issueIdOrKey: 'BIZ-9', id: added.id });
  out.comment = cloud ? read.body.content[0].content[0].text : read.body;

  // Boards and sprints.
  const boards = await agile.board.getAllBoards({ projectKeyOrId: 'BIZ' });
  out.boards = boards.values.length;
  // The site's other project: found by key, with no boards of its own.
  out.otherProject = (await jira.projects.getProject({ projectIdOrKey: 'OPS' })).name;
  out.otherBoards = (await agile.board.getAllBoards({ projectKeyOrId: 'OPS' })).values.length;
  const scrum = boards.values.find((x) => x.type === 'scrum');
  const sprints = await agile.board.getAllSprints({ boardId: scrum.id });
  out.sprints = sprints.values.length;
  const sprintId = Number(process.env.SPRINT_ID || sprints.values[0].id);
  out.sprint = (await agile.sprint.getSprint({ sprintId })).name;
  const inSprint = await agile.sprint.getIssuesForSprint({ sprintId, fields: ['summary'] });
  out.sprintIssues = inSprint.issues.length;

  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  if (e && e.response) console.error(JSON.stringify(e.response.data));
  process.exit(1);
});
