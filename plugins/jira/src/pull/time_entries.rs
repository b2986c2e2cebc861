//! The time-entries stream: worklogs, incrementally, the way Jira allows.

use super::moves::{MovesSearch, entries_of_moved};
#[allow(unused_imports)]
use super::*;
use tollgate_plugin_api::http::{Request, send_all, with_query};

#[derive(Debug, Serialize, Deserialize)]
struct WorklogCursor {
    /// `updated` pages first, then `deleted` ones.
    deleted_phase: bool,
    /// The `deleted` pages: where the next one starts. (Cursors written before the `updated`
    /// pages were read in stretches: where the one chain of `updated` pages goes on.)
    since: i64,
    /// The site's fields, once a worklog's issue had to be searched for (one the store does
    /// not know): asked for then, not on every pass.
    #[serde(default)]
    fields: FieldMap,
    /// Where the `updated` phase ended: the next run's `updated` watermark.
    updated_until: i64,
    /// Worklog ids the last `updated` pages named, not read yet: read through `/worklog/list`
    /// beside the next `updated` pages (one round trip for both), so the worklogs of a page
    /// are in the page after it. Absent in cursors written before it existed: nothing pending.
    /// Written compactly ([`compact_ids`]): 8,000 ids as a JSON list would take most of the
    /// 64 KiB a cursor may hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "compact_ids")]
    pending: Vec<u64>,
    /// On an incremental pass, the first `/worklog/deleted` page is asked for beside the first
    /// `/worklog/updated` page: where the `deleted` pages go on from after it...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    deleted_from: Option<i64>,
    /// ...or, when that page was the last, where they ended (no `deleted` phase is left).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    deleted_done: bool,
    /// The `updated` phase: the stretches of time still being paged through, side by side.
    /// Empty in cursors written before stretches existed: one chain from `since`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    stretches: Vec<Stretch>,
    /// The `updated` phase: the least `until` of the stretches Jira answered were complete
    /// (its last page); the watermark the phase ends with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    complete_until: Option<i64>,
    /// The newest `updated` in the project as this pass began (its first call asks): the
    /// next pass looks for issues moved since ([`super::moves`]). Absent in cursors written
    /// before moves were looked for: the next pass then takes a new one and looks for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    moves_seen: Option<String>,
    /// Issues moved since the last pass began (the pages of the search read so far found
    /// them): their worklogs are read again by the pass's last call. Written compactly
    /// ([`compact_ids`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "compact_ids")]
    moved: Vec<u64>,
    /// Where the search for moved issues goes on: its next page goes out with the next
    /// call's requests. Absent once it is read to its end (or on a pass that has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    moves_at: Option<SearchPosition>,
}

/// A stretch of `/worklog/updated`: the worklogs saved after `since` and, when `to` is set, at
/// or before `to` (the next stretch reads from there). `/worklog/updated` pages by moment, each
/// page naming where the next starts, so one chain of pages is one round trip after another;
/// stretches that start at different moments are read side by side.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stretch {
    since: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    to: Option<i64>,
}

/// How many stretches are read side by side: each asks for one `updated` page and lists the
/// worklogs of its last one, so a call sends at most twice this, within `send-all`'s limit.
const STRETCHES: usize = MAX_REQUESTS_PER_BATCH / 2;

/// A stretch shorter than this is not split: splitting costs a request, and so many worklogs
/// saved within one hour are better paged through than guessed at.
const MIN_SPLIT_MS: i64 = 3_600_000;

#[derive(Debug, Serialize, Deserialize)]
struct WorklogCheckpoint {
    updated_since: i64,
    deleted_since: i64,
    /// The newest `updated` in the project, as Jira wrote it, as the last pass began: this
    /// pass looks for issues moved to another epic (or made another type) since
    /// ([`super::moves`]). Absent in checkpoints written before: no look this pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    moves_since: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Changed {
    values: Vec<ChangedItem>,
    until: Option<i64>,
    last_page: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChangedItem {
    worklog_id: u64,
    updated_time: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Worklog {
    id: String,
    issue_id: String,
    author: Option<Author>,
    started: String,
    time_spent_seconds: u64,
    updated: Option<String>,
    comment: Option<CommentText>,
}

/// A worklog's author as far as it names them: the account id (Cloud) or, without one, the
/// user name (Data Center); read as [`person_of`] reads a user object, the rest of the
/// object skipped rather than kept as a tree (a million worklogs each carry one).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Author {
    #[serde(default, deserialize_with = "present")]
    account_id: Option<Scalar>,
    #[serde(default, deserialize_with = "present")]
    name: Option<Scalar>,
}

/// A member's value: text, or anything else (which names no one).
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Other(serde::de::IgnoredAny),
}

/// A member that is present, whatever its value (`null` included): `accountId: null` names
/// no one, as in [`person_of`], rather than falling back to `name`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Scalar>, D::Error> {
    Scalar::deserialize(d).map(Some)
}

impl Author {
    fn id(&self) -> Option<&str> {
        match self.account_id.as_ref().or(self.name.as_ref())? {
            Scalar::Text(id) => Some(id),
            Scalar::Other(_) => None,
        }
    }
}

/// The time-entries stream, incremental the way Jira allows: `/worklog/updated` since the
/// watermark (Jira leaves out the last minute, so the watermark is the `until` it answered,
/// never "now"), the worklogs themselves through `/worklog/list` (at most 1000 ids), then
/// `/worklog/deleted` for explicit deletions. The 20 worklogs a search embeds are never used.
///
/// `/worklog/updated` pages by moment (each page names where the next starts), a chain of
/// round trips one after another. Once its first page shows there is more, the time from
/// there to now is split into stretches read side by side ([`STRETCHES`]); a stretch that
/// ends early gives its place to half of the widest one left. The worklogs the `updated`
/// pages name are listed beside the next `updated` pages (`send-all`, one round trip for
/// both, the `updated` pages first: they are the chain); those of the last pages are listed
/// at once. Once a call has read its answers it tells the host its next cursor
/// (`paging.next-cursor`), so that the next call's requests go out while this one turns its
/// worklogs into records. The watermark is the least `until` of the stretches Jira answered
/// were complete: nothing saved before it was left unread, even where a stretch reached past
/// the minute Jira hides.
pub fn time_entries(
    jira: &Jira,
    settings: &Settings,
    cursor: Option<&str>,
    checkpoint: Option<&str>,
) -> Result<Page, PluginError> {
    let mut page = Page::default();
    let checkpoint = paging::decode::<WorklogCheckpoint>(checkpoint)?;
    let first = cursor.is_none();
    let mut cursor = match paging::decode::<WorklogCursor>(cursor)? {
        Some(c) => c,
        None => {
            let since = checkpoint.as_ref().map_or(0, |c| c.updated_since);
            WorklogCursor {
                deleted_phase: false,
                since,
                fields: FieldMap::default(),
                updated_until: since,
                pending: Vec::new(),
                deleted_from: None,
                deleted_done: false,
                stretches: Vec::new(),
                complete_until: None,
                moves_seen: None,
                moved: Vec::new(),
                moves_at: None,
            }
        }
    };
    let stretches = if cursor.deleted_phase {
        Vec::new()
    } else if cursor.stretches.is_empty() {
        vec![Stretch {
            since: cursor.since,
            to: None,
        }]
    } else {
        std::mem::take(&mut cursor.stretches)
    };
    let pending = std::mem::take(&mut cursor.pending);
    let mut requests: Vec<Request> = if cursor.deleted_phase {
        vec![changed_request(jira, "deleted", cursor.since)]
    } else {
        stretches
            .iter()
            .map(|s| changed_request(jira, "updated", s.since))
            .collect()
    };
    let pages = requests.len();
    // An incremental pass's first `deleted` page needs nothing from the `updated` ones.
    let deleted_since = checkpoint
        .as_ref()
        .filter(|_| first)
        .map(|cp| cp.deleted_since);
    if let Some(since) = deleted_since {
        requests.push(changed_request(jira, "deleted", since));
    }
    // A pass looks for the issues moved since the last pass began, and notes where the next
    // pass's look starts: the newest `updated` in the project, from the look's first page
    // (newest first) or, on a pass with nothing to look from, asked for alone on its first
    // call.
    let moves_search = match checkpoint.as_ref().and_then(|cp| cp.moves_since.as_deref()) {
        Some(since) => Some(MovesSearch::new(settings, since)?),
        None => None,
    };
    // A page of it goes out with each call's requests, the first beside the pass's first
    // requests; the last call sends the next page left beside its lists, and the pages after
    // that one after another. (Sending the first page with the first call's lists instead,
    // not beside the other streams' first requests, was tried: the pass of one call then had
    // a round trip more, 0.82 s against 0.77 s at 1,000 epics and 150 ms.)
    if first && moves_search.is_some() {
        cursor.moves_at = Some(SearchPosition::default());
    }
    let moves_page = match &moves_search {
        Some(_) => cursor.moves_at.take(),
        None => None,
    };
    match (&moves_search, &moves_page) {
        (Some(search), Some(at)) => requests.push(search.request(jira, at)?),
        (None, _) if first => {
            requests.push(watermark_request(jira, &settings.work_projects_clause())?)
        }
        _ => {}
    }
    requests.extend(list_requests(jira, &pending)?);
    let mut answers = send_all(&requests).into_iter();
    let mut next_answer = || {
        answers.next().ok_or_else(|| {
            PluginError::Internal("send-all answered fewer requests than sent".into())
        })
    };
    let mut changed: Vec<Changed> = Vec::with_capacity(pages);
    for _ in 0..pages {
        changed.push(next_answer()??.json()?);
    }
    if let Some(since) = deleted_since {
        let deleted: Changed = next_answer()??.json()?;
        let until = deleted.until.unwrap_or(since).max(since);
        page.diagnostics
            .extend(same_moment(&deleted, "deleted", since, until));
        page.deletions.extend(deletions(&deleted));
        cursor.deleted_from = Some(until);
        cursor.deleted_done = deleted.last_page || until <= since;
    }
    // Nothing updated since (or a project without issues) keeps the last pass's mark.
    let last_mark = checkpoint.as_ref().and_then(|cp| cp.moves_since.clone());
    match (&moves_search, &moves_page) {
        (Some(search), Some(at)) => {
            let (found, more) = search.page(jira, settings, next_answer()?)?;
            cursor.moved.extend(found.moved);
            cursor.moves_at = more;
            if *at == SearchPosition::default() {
                cursor.moves_seen = found.newest.or(last_mark);
            }
        }
        (None, _) if first => {
            cursor.moves_seen =
                watermark_of(jira, next_answer()?, &mut page.diagnostics)?.or(last_mark);
        }
        _ => {}
    }
    // The worklogs' lists, read once the next cursor is told (below).
    let mut lists: Vec<_> = answers.collect();
    // Worklogs of the last pages, listed at once.
    let mut list_now: Vec<u64> = Vec::new();
    let fields = std::mem::take(&mut cursor.fields);
    let moved = std::mem::take(&mut cursor.moved);
    let moves_at = cursor.moves_at.take();
    let next = if cursor.deleted_phase {
        let deleted = changed.pop().ok_or_else(|| {
            PluginError::Internal("no /worklog/deleted page was asked for".into())
        })?;
        let until = deleted.until.unwrap_or(cursor.since).max(cursor.since);
        page.diagnostics
            .extend(same_moment(&deleted, "deleted", cursor.since, until));
        page.deletions.extend(deletions(&deleted));
        if !deleted.last_page && until > cursor.since {
            Some(WorklogCursor {
                since: until,
                ..cursor
            })
        } else {
            page.checkpoint = Some(paging::encode(&WorklogCheckpoint {
                updated_since: cursor.updated_until,
                deleted_since: until,
                moves_since: cursor.moves_seen.clone(),
            }));
            None
        }
    } else {
        let (live, ids) = read_stretches(&mut cursor, stretches, changed, &mut page.diagnostics);
        // The ids are listed beside the next pages; those of the last pages (nothing to
        // overlap with), or too many to carry in the cursor, are listed now, once the next
        // cursor is told.
        let carried = !live.is_empty() && compact_ids::encode(&ids).len() <= MAX_PENDING_BYTES;
        let pending = if carried {
            ids
        } else {
            list_now = ids;
            Vec::new()
        };
        if !live.is_empty() {
            Some(WorklogCursor {
                since: live[0].since,
                stretches: live,
                pending,
                ..cursor
            })
        } else {
            let updated_until = cursor.complete_until.unwrap_or(cursor.since);
            // A full pass needs no deletions (the host sweeps what it did not see); the next
            // incremental pass asks for deletions since where this one stopped.
            match (&checkpoint, cursor.deleted_from) {
                // The `deleted` pages were read beside the first `updated` one.
                (Some(_), Some(deleted_until)) if cursor.deleted_done => {
                    page.checkpoint = Some(paging::encode(&WorklogCheckpoint {
                        updated_since: updated_until,
                        deleted_since: deleted_until,
                        moves_since: cursor.moves_seen.clone(),
                    }));
                    None
                }
                (Some(cp), from) => Some(WorklogCursor {
                    deleted_phase: true,
                    since: from.unwrap_or(cp.deleted_since),
                    updated_until,
                    ..cursor
                }),
                (None, _) => {
                    page.checkpoint = Some(paging::encode(&WorklogCheckpoint {
                        updated_since: updated_until,
                        deleted_since: updated_until,
                        moves_since: cursor.moves_seen.clone(),
                    }));
                    None
                }
            }
        }
    };
    // The next call needs only the cursor: told to the host before the worklogs are read and
    // become records, so that its requests go out while this call builds them. Building them
    // asks for the site's fields only when a worklog's issue is not stored; the cursor then
    // carries them and the page returns that cursor instead. (Listing the worklogs after
    // telling, beside the next call's `updated` pages, was tried: 2 % faster at 150 ms with 4
    // request slots, but the lists then took the slots before the next `updated` pages, the
    // chain, which made the chain longer on a fast site.)
    //
    // The moved issues wait for the pass's last call, unless too many to carry; so does the
    // search for them, a page with each call.
    let mut read_moved = Vec::new();
    let (mut next, mut last_fields) = match next {
        Some(c) => (
            Some(WorklogCursor {
                fields,
                moves_at: moves_at.clone(),
                ..c
            }),
            FieldMap::default(),
        ),
        None => (None, fields),
    };
    carry_moved(next.as_mut(), &mut read_moved, moved);
    let told = next.as_ref().map(paging::encode);
    if let Some(told) = &told {
        paging::tell_next_cursor(told);
    }
    // The last call, with pages of the search for moved issues left: the next goes out with
    // the lists of this call's worklogs (one round trip for both), those after it one after
    // another.
    let moves_left = match (&next, &moves_search, moves_at) {
        (None, Some(search), Some(at)) => Some((search, at)),
        _ => None,
    };
    let mut sending: Vec<Request> = Vec::new();
    if let Some((search, at)) = &moves_left {
        sending.push(search.request(jira, at)?);
    }
    sending.extend(list_requests(jira, &list_now)?);
    let mut sent = Vec::with_capacity(sending.len());
    for batch in sending.chunks(MAX_REQUESTS_PER_BATCH) {
        sent.extend(send_all(batch));
    }
    let mut sent = sent.into_iter();
    if let Some((search, _)) = moves_left {
        let answer = sent.next().ok_or_else(|| {
            PluginError::Internal("send-all answered fewer requests than sent".into())
        })?;
        let (found, more) = search.page(jira, settings, answer)?;
        read_moved.extend(found.moved);
        if let Some(at) = more {
            read_moved.extend(search.rest(jira, settings, at)?);
        }
    }
    lists.extend(sent);
    let mut worklogs: Vec<Worklog> = Vec::new();
    for answer in lists {
        worklogs.extend(answer?.json::<Vec<Worklog>>()?);
    }
    let fields = next.as_mut().map_or(&mut last_fields, |c| &mut c.fields);
    let known_fields = !fields.ids.is_empty();
    page.records = entries(
        jira,
        settings,
        fields,
        worklogs,
        &mut page.diagnostics,
        &mut page.deletions,
    )?;
    // The worklogs of the issues moved since the last pass began, read again with their
    // epic as it is now, in the pass's last call: written after any of the pass's pages that
    // took an issue's epic from the store before its move reached it.
    page.records.extend(entries_of_moved(
        jira,
        settings,
        fields,
        read_moved,
        &mut page.diagnostics,
        &mut page.deletions,
    )?);
    let fields_learnt = !known_fields && !fields.ids.is_empty();
    page.next_cursor = match next {
        Some(c) if fields_learnt => Some(paging::encode(&c)),
        _ => told,
    };
    Ok(page)
}

/// Moved issues found: carried in the next cursor to the pass's last call, or, in the last
/// call or when more than a cursor carries ([`MAX_MOVED_BYTES`]), to be read in this one.
fn carry_moved(next: Option<&mut WorklogCursor>, read_now: &mut Vec<u64>, mut found: Vec<u64>) {
    // What the cursor carries, once each (an issue changed while the search pages may be on
    // two of its pages).
    found.sort_unstable();
    found.dedup();
    match next {
        Some(next) if compact_ids::encode(&found).len() <= MAX_MOVED_BYTES => next.moved = found,
        _ => read_now.append(&mut found),
    }
}
/// Reads this call's `updated` pages, one a stretch: the worklog ids they name within their
/// stretches, and the stretches left, split so that up to [`STRETCHES`] are read side by side.
/// A stretch whose page Jira answered was the last (or that did not move on) is complete up to
/// that page's `until`: the least such `until` is the pass's watermark.
fn read_stretches(
    cursor: &mut WorklogCursor,
    stretches: Vec<Stretch>,
    pages: Vec<Changed>,
    diagnostics: &mut Vec<Diagnostic>,
) -> (Vec<Stretch>, Vec<u64>) {
    let mut live = Vec::new();
    let mut ids = Vec::new();
    for (stretch, changed) in stretches.into_iter().zip(pages) {
        let until = changed.until.unwrap_or(stretch.since).max(stretch.since);
        diagnostics.extend(same_moment(&changed, "updated", stretch.since, until));
        let mut past_end = false;
        for v in &changed.values {
            match (stretch.to, v.updated_time) {
                // Saved after this stretch: the next stretch reads it.
                (Some(to), Some(t)) if t > to => past_end = true,
                _ => ids.push(v.worklog_id),
            }
        }
        if changed.last_page || until <= stretch.since {
            cursor.complete_until = Some(cursor.complete_until.map_or(until, |u| u.min(until)));
        } else if !past_end && stretch.to.is_none_or(|to| until < to) {
            live.push(Stretch {
                since: until,
                to: stretch.to,
            });
        }
    }
    split(&mut live, now_ms());
    (live, ids)
}

/// Splits the widest stretches in halves until [`STRETCHES`] are read side by side or none is
/// wider than [`MIN_SPLIT_MS`]. The open stretch (no `to`) reaches to `now`, as far as this
/// clock can tell; a wrong clock only balances the stretches worse, as every moment after the
/// first `since` stays in exactly one stretch.
fn split(live: &mut Vec<Stretch>, now: Option<i64>) {
    if live.is_empty() {
        return;
    }
    while live.len() < STRETCHES {
        let widest = live
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((i, s.to.or(now)?.saturating_sub(s.since))))
            .max_by_key(|&(_, span)| span);
        let Some((i, span)) = widest else { break };
        if span < MIN_SPLIT_MS {
            break;
        }
        let mid = live[i].since + span / 2;
        let upper = Stretch {
            since: mid,
            to: live[i].to,
        };
        live[i].to = Some(mid);
        live.insert(i + 1, upper);
    }
}

/// The most the pending worklog ids may take in a cursor (half of what a cursor may hold);
/// more are listed in the call that found them.
const MAX_PENDING_BYTES: usize = 32 * 1024;

/// The most the moved issues' ids may take in a cursor (a quarter of what it may hold, some
/// 5,000 issues); more have their worklogs read again in the call that found them.
const MAX_MOVED_BYTES: usize = 16 * 1024;

/// Worklog ids in a cursor: sorted, each written as its distance from the one before in base
/// 36, separated by commas ("2s,1,a" is 100, 101, 111). Ids saved together are close, so 8,000
/// of them take a few bytes each. A JSON list of numbers (cursors written before) is read too.
mod compact_ids {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn encode(ids: &[u64]) -> String {
        let mut sorted = ids.to_vec();
        sorted.sort_unstable();
        let mut out = String::with_capacity(sorted.len() * 4);
        let mut last = 0;
        for (i, id) in sorted.into_iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_base36(&mut out, id - last);
            last = id;
        }
        out
    }

    fn push_base36(out: &mut String, mut n: u64) {
        let mut digits = [0u8; 13];
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b"0123456789abcdefghijklmnopqrstuvwxyz"[(n % 36) as usize];
            n /= 36;
            if n == 0 {
                break;
            }
        }
        out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or_default());
    }

    pub fn decode(text: &str) -> Result<Vec<u64>, String> {
        let mut last: u64 = 0;
        text.split(',')
            .filter(|part| !part.is_empty())
            .map(|part| {
                let delta = u64::from_str_radix(part, 36)
                    .map_err(|e| format!("pending worklog id `{part}`: {e}"))?;
                last = last
                    .checked_add(delta)
                    .ok_or_else(|| "pending worklog ids overflow".to_string())?;
                Ok(last)
            })
            .collect()
    }

    pub fn serialize<S: Serializer>(ids: &[u64], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode(ids))
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Compact(String),
        List(Vec<u64>),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
        match Written::deserialize(d)? {
            Written::Compact(text) => decode(&text).map_err(serde::de::Error::custom),
            Written::List(ids) => Ok(ids),
        }
    }
}

/// The wall clock in Unix milliseconds, if the host gives the plugin one.
fn now_ms() -> Option<i64> {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_millis()).ok())
}

/// The request for a page of `/worklog/updated` or `/worklog/deleted` since a moment.
fn changed_request(jira: &Jira, what: &str, since: i64) -> Request {
    jira.client().get_request(&with_query(
        &format!("{}/worklog/{what}", jira.api()),
        &[("since", &since.to_string())],
    ))
}

/// The deletions a `/worklog/deleted` page names.
fn deletions(changed: &Changed) -> impl Iterator<Item = Deletion> + '_ {
    changed.values.iter().map(|v| Deletion {
        kind: EntityKind::TimeEntry,
        external_id: v.worklog_id.to_string(),
    })
}

/// Jira pages by moment: the next page starts after `until`. A page that is not the last and
/// holds nothing but worklogs of that one millisecond means more of them may exist than a page
/// holds; those past the page cannot be read through this API. Said, not skipped in silence.
fn same_moment(changed: &Changed, what: &str, since: i64, until: i64) -> Option<Diagnostic> {
    let stuck = !changed.last_page
        && !changed.values.is_empty()
        && changed
            .values
            .iter()
            .all(|v| v.updated_time.is_none_or(|t| t == until));
    stuck.then(|| Diagnostic {
        severity: tollgate_plugin_api::Severity::Error,
        code: "worklogs-same-moment".into(),
        message: format!(
            "Jira's /worklog/{what} answered a full page of {} worklogs all saved at the same millisecond ({until}); any more saved at that moment cannot be paged through and are missing from this sync",
            changed.values.len()
        ),
        location: Some(format!("worklog/{what}?since={since}")),
    })
}

/// `/worklog/list` requests for these worklog ids, 1000 a request (Jira's limit). Reads sent
/// as POSTs: marked so the host may repeat them.
fn list_requests(jira: &Jira, ids: &[u64]) -> Result<Vec<Request>, PluginError> {
    let path = format!("{}/worklog/list", jira.api());
    ids.chunks(1000)
        .map(|chunk| jira.client().query_request(&path, &json!({ "ids": chunk })))
        .collect()
}

/// The time entries of these worklogs, each with its issue's key and its epic's; a worklog
/// whose issue or author cannot be named is left out with a warning, one that is not the
/// portfolio's is left out too and its entry deleted ([`entries_on`]).
fn entries(
    jira: &Jira,
    settings: &Settings,
    fields: &mut FieldMap,
    worklogs: Vec<Worklog>,
    diagnostics: &mut Vec<Diagnostic>,
    deletions: &mut Vec<Deletion>,
) -> Result<Vec<DmoRecord>, PluginError> {
    if worklogs.is_empty() {
        return Ok(Vec::new());
    }
    let issues = issues_of(jira, settings, fields, &worklogs)?;
    Ok(entries_on(
        &issues,
        settings,
        worklogs,
        diagnostics,
        deletions,
    ))
}

/// The time entries of these worklogs, their issues named by `issues` (by issue id); a
/// worklog whose issue or author cannot be named is left out with a warning. Jira lists the
/// whole site's worklogs: those on issues neither in the portfolio's project nor under one of
/// its epics are not the portfolio's, and are left out (counted in a log line); their entries
/// are deleted (`deletions`), for a worklog may have been the portfolio's when last read (its
/// issue since moved from under a portfolio epic), and deleting one the store never held
/// changes nothing.
pub(super) fn entries_on(
    issues: &BTreeMap<String, IssueRef>,
    settings: &Settings,
    worklogs: Vec<Worklog>,
    diagnostics: &mut Vec<Diagnostic>,
    deletions: &mut Vec<Deletion>,
) -> Vec<DmoRecord> {
    let mut records = Vec::with_capacity(worklogs.len());
    let mut elsewhere = 0usize;
    for w in worklogs {
        let Some((key, epic, is_epic)) = issues.get(&w.issue_id) else {
            diagnostics.push(Diagnostic {
                severity: tollgate_plugin_api::Severity::Warning,
                code: "worklog-without-issue".into(),
                message: format!(
                    "worklog {} is on issue {}, which the search did not return",
                    w.id, w.issue_id
                ),
                location: Some(format!("worklog:{}", w.id)),
            });
            continue;
        };
        if !settings.is_portfolios(key, epic.as_deref()) {
            elsewhere += 1;
            deletions.push(Deletion {
                kind: EntityKind::TimeEntry,
                external_id: w.id.clone(),
            });
            continue;
        }
        let Some(person) = w
            .author
            .as_ref()
            .and_then(Author::id)
            .map(|id| person_named(settings, id))
        else {
            diagnostics.push(Diagnostic {
                severity: tollgate_plugin_api::Severity::Warning,
                code: "worklog-without-author".into(),
                message: format!(
                    "worklog {} on {key} names no author with an account id or user name; it is not imported",
                    w.id
                ),
                location: Some(format!("worklog:{}", w.id)),
            });
            continue;
        };
        let entry = TimeEntry {
            person,
            work_item_key: (!is_epic).then(|| key.clone()),
            initiative_key: epic.clone(),
            date: w.started.get(..10).unwrap_or_default().to_string(),
            started: Some(rfc3339(w.started)),
            seconds: w.time_spent_seconds,
            description: w.comment.map(|c| c.0).filter(|t| !t.is_empty()),
        };
        let mut r = record(w.id, Entity::TimeEntry(entry));
        r.source_updated = w.updated.map(rfc3339);
        records.push(r);
    }
    if elsewhere > 0 {
        tollgate_plugin_api::log::info(
            "worklogs on issues of other projects, not under the portfolio's epics, left out",
            &[
                ("worklogs", &elsewhere.to_string()),
                ("project", &settings.project),
            ],
        );
    }
    records
}

/// An issue's key, its epic's key, and whether it is an epic itself.
pub(super) type IssueRef = (String, Option<String>, bool);

/// Key, epic key and whether it is an epic, for the issues of these worklogs: from what the
/// store holds (the initiatives and work-items streams stored every issue in scope, under its
/// id, earlier in the run), and for issues the store does not know (a worklog on an issue
/// outside the project, or a run without a store) from one batched search, the site's fields
/// asked for first if this pass has not yet.
fn issues_of(
    jira: &Jira,
    settings: &Settings,
    fields: &mut FieldMap,
    worklogs: &[Worklog],
) -> Result<BTreeMap<String, IssueRef>, PluginError> {
    let mut ids: Vec<String> = worklogs.iter().map(|w| w.issue_id.clone()).collect();
    ids.sort_unstable();
    ids.dedup();
    let stories = tollgate_plugin_api::stored(EntityKind::WorkItem, &ids);
    let epics = tollgate_plugin_api::stored(EntityKind::Initiative, &ids);
    let mut known = Vec::with_capacity(ids.len());
    let mut unknown = Vec::new();
    for ((id, story), epic) in ids.into_iter().zip(stories).zip(epics) {
        match (epic, story) {
            (Some(epic), _) => known.push((id, (epic.key.clone(), Some(epic.key), true))),
            (None, Some(story)) => known.push((id, (story.key, story.initiative_key, false))),
            (None, None) => unknown.push(id),
        }
    }
    // In the ids' order, so the map is built at once rather than searched for each.
    let mut out = BTreeMap::from_iter(known);
    if !unknown.is_empty() {
        if fields.ids.is_empty() {
            *fields = FieldMap::resolve(jira, &settings.fields, &mut Vec::new())?;
        }
        let unknown: Vec<&str> = unknown.iter().map(String::as_str).collect();
        out.extend(issues_by_id(jira, fields, &unknown)?);
    }
    Ok(out)
}

/// Key, epic key and whether it is an epic, of the issues with these ids, from searches (500
/// ids each); a sub-task's epic is its parent's, from [`epics_of_parents`].
pub(super) fn issues_by_id(
    jira: &Jira,
    fields: &FieldMap,
    ids: &[&str],
) -> Result<BTreeMap<String, IssueRef>, PluginError> {
    issues_by_id_resolving(jira, fields, ids, true)
}

/// [`issues_by_id`]; `sub_tasks`: whether to look up sub-tasks' parents (not when these are
/// the parents, so that an answer whose parents are sub-tasks again cannot go round).
pub(super) fn issues_by_id_resolving(
    jira: &Jira,
    fields: &FieldMap,
    ids: &[&str],
    sub_tasks: bool,
) -> Result<BTreeMap<String, IssueRef>, PluginError> {
    let mut out = BTreeMap::new();
    let mut wanted = vec!["issuetype".to_string(), "parent".to_string()];
    wanted.extend(fields.ids_of(&["epic-link"]));
    for chunk in ids.chunks(500) {
        let jql = format!("id in ({}) ORDER BY key ASC", jql_list(chunk));
        let found = jira.search_all(&jql, &wanted)?;
        let sub_tasks: Vec<(String, String)> = found
            .iter()
            .filter_map(|i| sub_task_parent(i).map(|(parent, _)| (i.id.clone(), parent)))
            .filter(|_| sub_tasks)
            .collect();
        let parents_epics = if sub_tasks.is_empty() {
            BTreeMap::new()
        } else {
            let parents: Vec<String> = sub_tasks.iter().map(|(_, p)| p.clone()).collect();
            super::epics_of_parents(jira, fields, &found, &parents)?
        };
        for issue in found {
            if let Some((_, parent)) = sub_tasks.iter().find(|(id, _)| *id == issue.id) {
                let epic = parents_epics.get(parent).cloned().flatten();
                out.insert(issue.id.clone(), (issue.key(), epic, false));
                continue;
            }
            let level = issue
                .field("issuetype")
                .and_then(|t| t.get("hierarchyLevel"))
                .and_then(Value::as_i64);
            let is_epic = level == Some(1);
            let epic = if is_epic {
                Some(issue.key())
            } else {
                epic_of_child(jira.deployment, fields, &issue)
            };
            out.insert(issue.id.clone(), (issue.key(), epic, is_epic));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worklog_is_the_portfolios_when_its_issue_or_its_epic_is_in_the_project() {
        let settings: Settings = serde_json::from_value(json!({"project": "BIZ"})).unwrap();
        let issue =
            |key: &str, epic: Option<&str>| (key.to_string(), epic.map(str::to_string), false);
        let issues: BTreeMap<String, IssueRef> = [
            ("1", issue("BIZ-7", Some("BIZ-1"))),
            ("2", issue("OPS-3", Some("BIZ-1"))),
            ("3", issue("biz-9", None)),
            ("4", issue("OPS-2", Some("OPS-1"))),
            ("5", issue("OPS-4", None)),
            ("6", issue("BIZZ-1", Some("XBIZ-2"))),
            ("7", ("BIZ-1".to_string(), Some("BIZ-1".to_string()), true)),
        ]
        .into_iter()
        .map(|(id, i)| (id.to_string(), i))
        .collect();
        let worklogs: Vec<Worklog> = (1..=7)
            .map(|n| {
                serde_json::from_value(json!({
                    "id": (100 + n).to_string(), "issueId": n.to_string(),
                    "author": {"accountId": "acc-1"}, "started": "2026-11-02T09:00:00.000+0000",
                    "timeSpentSeconds": 3600
                }))
                .unwrap()
            })
            .collect();
        let mut diagnostics = Vec::new();
        let mut deletions = Vec::new();
        let entries = entries_on(
            &issues,
            &settings,
            worklogs,
            &mut diagnostics,
            &mut deletions,
        );
        let ids: Vec<&str> = entries.iter().map(|r| r.external_id.as_str()).collect();
        assert_eq!(ids, ["101", "102", "103", "107"]);
        assert!(
            diagnostics.is_empty(),
            "left out without a warning: {diagnostics:?}"
        );
        // The others' entries are deleted, in case they were the portfolio's when last read.
        let deleted: Vec<&str> = deletions.iter().map(|d| d.external_id.as_str()).collect();
        assert_eq!(deleted, ["104", "105", "106"]);
        assert!(deletions.iter().all(|d| d.kind == EntityKind::TimeEntry));
    }

    #[test]
    fn the_project_is_a_key_and_an_id_or_a_name_is_refused() {
        for key in ["BIZ", "biz", "B2B_OPS"] {
            let s: Settings = serde_json::from_value(json!({ "project": key })).unwrap();
            assert_eq!(s.project, key);
        }
        for bad in [
            "10000",
            "",
            "Portfolio board",
            "BIZ-1",
            "BIZ\" OR project = \"OPS",
            "_X",
        ] {
            let e =
                tollgate_plugin_api::settings::<Settings>(&json!({ "project": bad }).to_string())
                    .unwrap_err();
            assert!(
                e.to_string().contains("is not a Jira project key"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn team_projects_are_keys_named_once_beside_the_portfolios_and_searched_with_it() {
        let read = |settings: Value| crate::Settings::read(&settings.to_string());
        let s = read(json!({})).unwrap();
        assert_eq!(s.work_projects_clause(), "project = BIZ");
        let s = read(json!({"team-projects": ["OPS", "PAY_2"]})).unwrap();
        assert_eq!(s.work_projects_clause(), "project in (BIZ, OPS, PAY_2)");
        for (bad, says) in [
            (
                json!({"team-projects": ["10001"]}),
                "team-projects: `10001` is not a Jira project key",
            ),
            (
                json!({"team-projects": ["OPS) OR (project = X"]}),
                "is not a Jira project key",
            ),
            (
                json!({"team-projects": ["OPS", "ops"]}),
                "team-projects names `ops` twice",
            ),
            (json!({"team-projects": "OPS"}), "expected a sequence"),
            (
                json!({"team-projects": ["biz"]}),
                "team-projects names `biz`, the portfolio's own project",
            ),
        ] {
            let e = read(bad.clone()).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn a_worklog_author_names_the_person_a_user_object_would() {
        let settings: Settings =
            serde_json::from_value(json!({"people": {"acc-1": "P-001"}})).unwrap();
        for user in [
            json!({"accountId": "acc-1", "name": "n", "avatarUrls": {"48x48": "x"}}),
            json!({"accountId": "acc-2", "displayName": "Someone"}),
            json!({"name": "jdoe", "key": "JIRAUSER1"}),
            json!({"accountId": null, "name": "jdoe"}),
            json!({"accountId": 5, "name": "jdoe"}),
            json!({"name": ["jdoe"]}),
            json!({"displayName": "No id"}),
            json!({}),
        ] {
            let author: Author = serde_json::from_value(user.clone()).unwrap();
            assert_eq!(
                author.id().map(|id| person_named(&settings, id)),
                person_of(&settings, &user),
                "{user}"
            );
        }
        let named: Author = serde_json::from_value(json!({"accountId": "acc-1"})).unwrap();
        assert_eq!(
            named.id().map(|id| person_named(&settings, id)).as_deref(),
            Some("P-001")
        );
    }

    fn cursor() -> WorklogCursor {
        WorklogCursor {
            deleted_phase: false,
            since: 0,
            fields: FieldMap::default(),
            updated_until: 0,
            pending: Vec::new(),
            deleted_from: None,
            deleted_done: false,
            stretches: Vec::new(),
            complete_until: None,
            moves_seen: None,
            moved: Vec::new(),
            moves_at: None,
        }
    }

    fn page(values: &[(u64, i64)], until: i64, last_page: bool) -> Changed {
        Changed {
            values: values
                .iter()
                .map(|&(worklog_id, t)| ChangedItem {
                    worklog_id,
                    updated_time: Some(t),
                })
                .collect(),
            until: Some(until),
            last_page,
        }
    }

    const HOUR: i64 = 3_600_000;

    #[test]
    fn pending_worklog_ids_are_carried_compactly_and_old_cursors_still_read() {
        let ids: Vec<u64> = (0..8000u64)
            .map(|i| 1_000_000_000 + i * 37 % 8000 * 3)
            .collect();
        let text = compact_ids::encode(&ids);
        assert!(text.len() < 20_000, "{} bytes", text.len());
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        assert_eq!(compact_ids::decode(&text).unwrap(), sorted);
        assert_eq!(compact_ids::encode(&[100, 111, 101]), "2s,1,a");
        assert_eq!(compact_ids::decode("").unwrap(), Vec::<u64>::new());
        assert!(compact_ids::decode("2s,!").is_err());
        assert!(
            compact_ids::decode("3w5e11264sgsf,3w5e11264sgsf").is_err(),
            "overflow"
        );

        // The moved issues a pass carries to its last call are written so too, and a cursor
        // or checkpoint written before moves were looked for reads with none.
        let mut carrying = cursor();
        carrying.moved = vec![10_240, 10_122];
        carrying.moves_seen = Some("2026-11-27T10:30:15.500+0200".into());
        let written = serde_json::to_value(&carrying).unwrap();
        assert_eq!(written["moved"], "7t6,3a");
        let read: WorklogCursor = serde_json::from_value(written).unwrap();
        assert_eq!(read.moved, vec![10_122, 10_240]);
        assert_eq!(read.moves_seen, carrying.moves_seen);
        let before = serde_json::to_value(cursor()).unwrap();
        assert!(before.get("moved").is_none() && before.get("moves_seen").is_none());
        let old: WorklogCheckpoint =
            serde_json::from_value(json!({"updated_since": 5, "deleted_since": 7})).unwrap();
        assert_eq!(old.moves_since, None);

        // A cursor as written before, with a list of numbers, reads; written again, compactly.
        let mut old = serde_json::to_value(cursor()).unwrap();
        old["pending"] = json!([5, 3]);
        let read: WorklogCursor = serde_json::from_value(old).unwrap();
        assert_eq!(read.pending, vec![5, 3]);
        assert_eq!(serde_json::to_value(&read).unwrap()["pending"], "3,2");
    }

    #[test]
    fn the_time_after_the_first_page_is_split_into_stretches_that_cover_it_once() {
        let mut live = vec![Stretch {
            since: 100 * HOUR,
            to: None,
        }];
        split(&mut live, Some(900 * HOUR));
        assert_eq!(live.len(), STRETCHES);
        assert_eq!(live[0].since, 100 * HOUR);
        assert_eq!(live.last().unwrap().to, None, "the last stays open");
        for pair in live.windows(2) {
            assert_eq!(pair[0].to, Some(pair[1].since), "no gap, no overlap");
        }
        // 800 hours in 8 stretches of 100.
        assert!(
            live.iter()
                .all(|s| s.to.is_none_or(|to| to - s.since == 100 * HOUR))
        );

        // Nothing narrower than an hour is split, and without a clock the open one is not.
        let mut narrow = vec![Stretch {
            since: 0,
            to: Some(HOUR - 1),
        }];
        split(&mut narrow, Some(1000 * HOUR));
        assert_eq!(narrow.len(), 1);
        let mut open = vec![Stretch { since: 0, to: None }];
        split(&mut open, None);
        assert_eq!(open.len(), 1);
        // A clock behind the data splits nothing either.
        split(&mut open, Some(-5));
        assert_eq!(open.len(), 1);
    }

    #[test]
    fn a_stretch_keeps_only_its_own_worklogs_and_the_watermark_is_the_least_complete_one() {
        let mut c = cursor();
        let mut diagnostics = Vec::new();
        let stretches = vec![
            // Reaches past its end: done, the worklog after `to` left to the next one.
            Stretch {
                since: 0,
                to: Some(10),
            },
            // Goes on.
            Stretch {
                since: 10,
                to: Some(100),
            },
            // The open one, complete: nothing after 150 (up to the minute Jira hides).
            Stretch {
                since: 100,
                to: None,
            },
        ];
        let pages = vec![
            page(&[(1, 5), (2, 10), (3, 11)], 11, false),
            page(&[(4, 20), (5, 30)], 30, false),
            page(&[(6, 150)], 150, true),
        ];
        let (live, ids) = read_stretches(&mut c, stretches, pages, &mut diagnostics);
        assert_eq!(
            ids,
            vec![1, 2, 4, 5, 6],
            "worklog 3 belongs to the second stretch"
        );
        assert_eq!(c.complete_until, Some(150));
        // The second stretch goes on from 30; too narrow to split.
        assert_eq!(live.len(), 1);
        assert_eq!((live[0].since, live[0].to), (30, Some(100)));

        // A closed stretch Jira answered complete before its end (its end lay in the minute
        // Jira hides): the watermark stays there, so what is saved later is read next time.
        let stretches = vec![Stretch {
            since: 30,
            to: Some(100),
        }];
        let (live, ids) = read_stretches(
            &mut c,
            stretches,
            vec![page(&[(7, 40)], 40, true)],
            &mut diagnostics,
        );
        assert!(live.is_empty());
        assert_eq!(ids, vec![7]);
        assert_eq!(c.complete_until, Some(40));
        assert!(diagnostics.is_empty());
    }
}
