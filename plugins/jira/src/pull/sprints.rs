//! The sprints stream: the sprints of the project's scrum boards, read whole each time.

#[allow(unused_imports)]
use super::*;
use tollgate_plugin_api::http::{send_all, with_query};

#[derive(Debug, Serialize, Deserialize)]
struct SprintCursor {
    boards: Vec<(u64, String)>,
    /// In cursors written before boards were read side by side: the board being read, from
    /// `start_at`. Now the next board not yet asked for.
    board: usize,
    #[serde(default)]
    start_at: u64,
    /// Boards with more sprint pages to read: (index into `boards`, startAt). Absent from
    /// the older cursors, which `board` and `start_at` describe alone.
    #[serde(default)]
    more: Option<Vec<(usize, u64)>>,
}

/// Boards whose sprints are asked for side by side in one call.
const BOARDS_AT_ONCE: usize = 16;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AgilePage<T> {
    start_at: u64,
    is_last: bool,
    values: Vec<T>,
}

#[derive(Deserialize)]
struct Board {
    id: u64,
    name: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AgileSprint {
    id: u64,
    name: String,
    state: String,
    start_date: Option<String>,
    end_date: Option<String>,
    complete_date: Option<String>,
    goal: Option<String>,
}

/// The sprints stream: every sprint of the project's scrum boards (or the configured boards),
/// read whole each time (sprints are few), so the host sweeps deleted ones.
pub fn sprints(
    jira: &Jira,
    settings: &Settings,
    cursor: Option<&str>,
) -> Result<Page, PluginError> {
    let mut page = Page {
        snapshot: true,
        ..Page::default()
    };
    let cursor = match paging::decode::<SprintCursor>(cursor)? {
        Some(c) => c,
        None => {
            let mut boards = Vec::new();
            let mut start = 0u64;
            loop {
                let p: AgilePage<Board> = jira.get_with(
                    "/rest/agile/1.0/board",
                    &[
                        ("projectKeyOrId", &settings.project),
                        ("startAt", &start.to_string()),
                    ],
                )?;
                let n = p.values.len() as u64;
                // Kanban boards have no sprints (asking gives a 400).
                boards.extend(
                    p.values
                        .into_iter()
                        .filter(|b| b.kind == "scrum")
                        .filter(|b| settings.boards.is_empty() || settings.boards.contains(&b.id))
                        .map(|b| (b.id, b.name)),
                );
                if p.is_last || n == 0 {
                    break;
                }
                start = p.start_at.saturating_add(n);
            }
            SprintCursor {
                boards,
                board: 0,
                start_at: 0,
                more: Some(Vec::new()),
            }
        }
    };
    // What to read now: boards part-read first, then boards not yet asked for; one request
    // each, side by side.
    let (mut more, mut board) = match cursor.more {
        Some(more) => (more, cursor.board),
        None => (vec![(cursor.board, cursor.start_at)], cursor.board + 1),
    };
    let mut batch: Vec<(usize, u64)> = more.drain(..more.len().min(BOARDS_AT_ONCE)).collect();
    while batch.len() < BOARDS_AT_ONCE && board < cursor.boards.len() {
        batch.push((board, 0));
        board += 1;
    }
    batch.retain(|(i, _)| *i < cursor.boards.len());
    let requests: Vec<_> = batch
        .iter()
        .map(|(i, start_at)| {
            jira.client().get_request(&with_query(
                &format!("/rest/agile/1.0/board/{}/sprint", cursor.boards[*i].0),
                &[("startAt", &start_at.to_string())],
            ))
        })
        .collect();
    for ((i, _), answer) in batch.iter().zip(send_all(&requests)) {
        let p: AgilePage<AgileSprint> = answer?.json()?;
        let board_name = &cursor.boards[*i].1;
        let n = p.values.len() as u64;
        for s in p.values {
            let sprint = Sprint {
                id: s.id.to_string(),
                name: s.name,
                state: s.state.to_lowercase(),
                team: Some(board_name.clone()),
                start: s.start_date,
                end: s.end_date,
                completed: s.complete_date,
                goal: s.goal.filter(|g| !g.is_empty()),
            };
            page.records
                .push(record(s.id.to_string(), Entity::Sprint(sprint)));
        }
        // Sprint pages carry no total: go on until `isLast`.
        if !p.is_last && n > 0 {
            more.push((*i, p.start_at.saturating_add(n)));
        }
    }
    let next = (!more.is_empty() || board < cursor.boards.len()).then_some(SprintCursor {
        boards: cursor.boards,
        board,
        start_at: 0,
        more: Some(more),
    });
    page.next_cursor = next.map(|c| paging::encode(&c));
    Ok(page)
}
