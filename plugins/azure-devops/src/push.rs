//! Write-back: one Tollgate comment per initiative with findings, in markdown, created once and
//! then edited in place; optionally a tag on the work item while findings are open.
//!
//! Azure DevOps comments have no properties, so the comment is found again by the marker in
//! its footer, preferring one written by the account Tollgate uses (from `connectionData`).
//! What it says is compared with what it should say, so a repeated publish writes nothing.
//! When every finding of an initiative is resolved, the comment is edited to say so and the
//! tag comes off. Tags are written by JSON Patch with a `test` of the revision, so a tag list
//! someone changed meanwhile is read again, not overwritten.

use crate::Settings;
use crate::api::Ado;
use serde::Deserialize;
use serde_json::{Value, json};
use tollgate_plugin_api::comment::{FOOTER, MARKER, by_subject, lines};
use tollgate_plugin_api::http::Method;
use tollgate_plugin_api::{Finding, PluginError, PushOutcome, PushResult};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommentList {
    comments: Vec<Comment>,
    #[serde(default)]
    continuation_token: Option<String>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Comment {
    id: u64,
    text: String,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    created_by: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConnectionData {
    authenticated_user: Value,
}

/// Text safe in a markdown comment: no HTML gets through, and a line cannot start a heading,
/// a quote or a list of its own.
fn md(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace(['\r', '\n'], " ")
}

/// The comment for one work item's findings (open, and those resolved), in markdown.
pub fn comment_text(findings: &[&Finding]) -> String {
    let (heading, items) = lines(findings);
    let mut out = format!("**{}**\n\n", md(&heading));
    for i in &items {
        match &i.emphasis {
            Some(e) => out.push_str(&format!("- **{}** {}\n", md(e), md(&i.text))),
            None => out.push_str(&format!("- {}\n", md(&i.text))),
        }
    }
    if !items.is_empty() {
        out.push('\n');
    }
    out.push_str(&format!("_{}_", md(FOOTER)));
    out
}

/// The id of the account the PAT belongs to.
fn who_am_i(ado: &Ado) -> Result<Option<String>, PluginError> {
    let path = ado
        .org_path("connectionData")
        .replace("api-version=7.1", "api-version=7.1-preview.1");
    let data: ConnectionData = ado.get(&path)?;
    Ok(data
        .authenticated_user
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_string))
}

fn find_ours(ado: &Ado, id: u64, me: Option<&str>) -> Result<Option<Comment>, PluginError> {
    let mut token: Option<String> = None;
    let mut candidates: Vec<Comment> = Vec::new();
    for _ in 0..1000 {
        let mut rest = format!("wit/workItems/{id}/comments?$top=200&order=asc");
        if let Some(t) = &token {
            rest.push_str(&format!(
                "&continuationToken={}",
                tollgate_plugin_api::http::encode(t)
            ));
        }
        let page: CommentList = ado.get(&ado.project_path(&rest))?;
        candidates.extend(
            page.comments
                .into_iter()
                .filter(|c| c.text.contains(MARKER)),
        );
        match page.continuation_token {
            Some(t) if !t.is_empty() => {
                if token.as_deref() == Some(t.as_str()) {
                    return Err(PluginError::Remote(format!(
                        "the comments of work item {id} do not page forward (the same continuation token twice); not publishing to it"
                    )));
                }
                token = Some(t);
            }
            _ => {
                // Ours first: the one the account Tollgate uses wrote.
                let mine = candidates.iter().position(|c| {
                    me.is_some()
                        && c.created_by
                            .as_ref()
                            .and_then(|b| b.get("id"))
                            .and_then(Value::as_str)
                            == me
                });
                return Ok(match mine {
                    Some(i) => Some(candidates.swap_remove(i)),
                    None => candidates.into_iter().next(),
                });
            }
        }
    }
    Err(PluginError::Remote(format!(
        "work item {id} has more comments than Tollgate reads; not publishing to it"
    )))
}

/// Publish: one outcome per finding.
pub fn push(
    ado: &Ado,
    settings: &Settings,
    findings: &[Finding],
    dry_run: bool,
) -> Result<Vec<PushOutcome>, PluginError> {
    let me = if findings.is_empty() {
        None
    } else {
        who_am_i(ado)?
    };
    let mut outcomes = Vec::new();
    for (key, (all, open)) in by_subject(findings) {
        let result = match settings.id_of(key) {
            Some(id) => publish_one(
                ado,
                settings,
                id,
                key,
                (&all, &open),
                me.as_deref(),
                dry_run,
            ),
            None => Err(PluginError::Config(format!(
                "`{key}` is not a work item of this connection (keys are {}<id>)",
                settings.key_prefix
            ))),
        };
        for f in all {
            outcomes.push(PushOutcome {
                fingerprint: f.fingerprint.clone(),
                result: match &result {
                    Ok(r) => r.clone(),
                    Err(e) => PushResult::Failed(e.clone()),
                },
            });
        }
    }
    Ok(outcomes)
}

fn publish_one(
    ado: &Ado,
    settings: &Settings,
    id: u64,
    key: &str,
    (all, open): (&[&Finding], &[&Finding]),
    me: Option<&str>,
    dry_run: bool,
) -> Result<PushResult, PluginError> {
    let text = comment_text(all);
    let existing = find_ours(ado, id, me)?;
    let tag_note = match &settings.tag {
        Some(tag) => set_tag(ado, id, tag, !open.is_empty(), dry_run)?,
        None => None,
    };
    let with_tag = |s: String| match &tag_note {
        Some(n) => format!("{s}; {n}"),
        None => s,
    };
    let comments = |rest: &str| ado.project_path(&format!("wit/workItems/{id}/comments{rest}"));
    let same = |c: &Comment| c.text == text && c.format.as_deref().is_none_or(|f| f == "markdown");
    Ok(match existing {
        None if open.is_empty() => PushResult::Unchanged(with_tag(format!(
            "{key}: nothing open and nothing published"
        ))),
        None if dry_run => PushResult::Planned(with_tag(format!(
            "{key}: would add a comment with {} finding(s)",
            open.len()
        ))),
        None => {
            let created: Comment =
                ado.post(&comments("?format=markdown"), &json!({ "text": text }))?;
            PushResult::Created(with_tag(format!("{key} comment {}", created.id)))
        }
        Some(c) if same(&c) => match &tag_note {
            Some(n) if !dry_run => PushResult::Updated(format!("{key} comment {}; {n}", c.id)),
            Some(n) => PushResult::Planned(format!("{key}: comment {} as it is; {n}", c.id)),
            None => PushResult::Unchanged(format!("{key} comment {}", c.id)),
        },
        Some(c) if dry_run => PushResult::Planned(with_tag(format!(
            "{key}: would edit comment {} to {}",
            c.id,
            if open.is_empty() {
                "say all findings are resolved".to_string()
            } else {
                format!("list {} finding(s)", open.len())
            }
        ))),
        Some(c) => {
            let _: Comment = ado.patch(
                &comments(&format!("/{}?format=markdown", c.id)),
                "application/json",
                &json!({ "text": text }),
            )?;
            PushResult::Updated(with_tag(format!("{key} comment {}", c.id)))
        }
    })
}

/// Put the tag on (`wanted`) or take it off; a note of what was (or would be) done, or None
/// when the tags are already right.
fn set_tag(
    ado: &Ado,
    id: u64,
    tag: &str,
    wanted: bool,
    dry_run: bool,
) -> Result<Option<String>, PluginError> {
    #[derive(Deserialize)]
    struct Item {
        rev: u64,
        fields: serde_json::Map<String, Value>,
    }
    for _ in 0..3 {
        let item: Item =
            ado.get(&ado.project_path(&format!("wit/workitems/{id}?fields=System.Tags")))?;
        let tags: Vec<String> = item
            .fields
            .get("System.Tags")
            .and_then(Value::as_str)
            .map(|t| {
                t.split(';')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let has = tags.iter().any(|t| t.eq_ignore_ascii_case(tag));
        if has == wanted {
            return Ok(None);
        }
        let note = if wanted {
            format!("tag `{tag}` added")
        } else {
            format!("tag `{tag}` removed")
        };
        if dry_run {
            return Ok(Some(format!("would have {note}")));
        }
        let mut next: Vec<String> = tags
            .into_iter()
            .filter(|t| !t.eq_ignore_ascii_case(tag))
            .collect();
        if wanted {
            next.push(tag.to_string());
        }
        let op = if next.is_empty() {
            json!({"op": "remove", "path": "/fields/System.Tags"})
        } else {
            json!({"op": "add", "path": "/fields/System.Tags", "value": next.join("; ")})
        };
        let body = json!([{"op": "test", "path": "/rev", "value": item.rev}, op]);
        let bytes = serde_json::to_vec(&body)
            .map_err(|e| PluginError::Internal(format!("cannot encode a request body: {e}")))?;
        let path = ado.project_path(&format!("wit/workitems/{id}?suppressNotifications=true"));
        match ado.call(
            Method::Patch,
            &path,
            Some("application/json-patch+json"),
            Some(bytes),
        ) {
            Ok(_) => return Ok(Some(note)),
            // Someone changed the work item since we read it: read it again.
            Err(PluginError::Remote(m)) if m.contains(" 412") => continue,
            Err(e) => return Err(e),
        }
    }
    Err(PluginError::Remote(format!(
        "work item {id} kept changing while Tollgate set its tag; try again"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_plugin_api::{FindingStatus, Severity};

    #[test]
    fn the_comment_is_markdown_without_html_and_ends_with_the_marker() {
        let f = Finding {
            fingerprint: "fp".into(),
            rule_id: "GATE-001".into(),
            severity: Severity::Blocker,
            status: FindingStatus::Open,
            subject_key: "4103".into(),
            title: "Work started before the gate".into(),
            message: "56 hours <script>alert(1)</script>\n# not a heading".into(),
            evidence: "{}".into(),
        };
        let text = comment_text(&[&f]);
        assert!(text.starts_with("**Tollgate DMO checks: 1 open finding**"));
        assert!(
            text.contains("- **blocker** GATE-001 Work started"),
            "{text}"
        );
        assert!(!text.contains("<script>"));
        assert!(!text.contains("\n# not"));
        assert!(text.ends_with(&format!("{}_", MARKER)));
        assert_eq!(
            comment_text(&[&f]),
            text,
            "the same findings, the same text"
        );
    }
}
