//! The sprints stream: the sprints of the project's scrum boards, read whole each time.

#[allow(unused_imports)]
use super::*;

#[derive(Debug, Serialize, Deserialize)]
struct SprintCursor {
    boards: Vec<(u64, String)>,
    board: usize,
    start_at: u64,
}

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
            }
        }
    };
    let Some((board, board_name)) = cursor.boards.get(cursor.board).cloned() else {
        return Ok(page);
    };
    let p: AgilePage<AgileSprint> = jira.get_with(
        &format!("/rest/agile/1.0/board/{board}/sprint"),
        &[("startAt", &cursor.start_at.to_string())],
    )?;
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
    let next = if !p.is_last && n > 0 {
        Some(SprintCursor {
            start_at: p.start_at.saturating_add(n),
            ..cursor
        })
    } else if cursor.board + 1 < cursor.boards.len() {
        Some(SprintCursor {
            board: cursor.board + 1,
            start_at: 0,
            ..cursor
        })
    } else {
        None
    };
    page.next_cursor = next.map(|c| paging::encode(&c));
    Ok(page)
}
