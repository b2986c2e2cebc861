//! Entry points for the fuzz targets in `fuzz/` and for the tests that replay their corpora:
//! whatever bytes an upstream answers, decoding them and reading their fields and changelogs
//! returns values or errors, never a panic.

use crate::Deployment;
use crate::api::{bulk_issues, id_page, search_page};
use crate::fields::{DEFAULT_FIELDS, FieldMap, Reader};
use tollgate_plugin_api::http::{Method, Response};

/// Decode `data` as a search answer of both deployments and read every issue in it as the
/// streams do.
pub fn page_decoding(data: &[u8]) {
    let response = Response {
        method: Method::Post,
        path: "/rest/api/3/search/jql".into(),
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: data.to_vec(),
    };
    // The same bytes as an id page and as a bulk fetch's answer (Cloud's full passes).
    let _ = id_page(&response);
    if let Ok(issues) = bulk_issues(&response) {
        issues.iter().for_each(read_issue);
    }
    for deployment in [Deployment::Cloud, Deployment::DataCenter] {
        let Ok(page) = search_page(deployment, &response) else {
            continue;
        };
        page.issues.iter().for_each(read_issue);
    }
}

/// Read an issue as the streams do: every attribute, the system fields, the changelog.
fn read_issue(issue: &crate::api::Issue) {
    // Every attribute reads one of the issue's fields, whatever they hold.
    let keys: Vec<&String> = issue.fields.keys().collect();
    let map = FieldMap {
        ids: DEFAULT_FIELDS
            .iter()
            .enumerate()
            .filter(|_| !keys.is_empty())
            .map(|(i, (attribute, _))| (attribute.to_string(), keys[i % keys.len()].clone()))
            .collect(),
        names: Default::default(),
    };
    let _ = issue.browse_url();
    let mut r = Reader::new(&map, issue.key(), &issue.fields);
    for (attribute, _) in DEFAULT_FIELDS {
        let _ = r.text(attribute);
        let _ = r.number(attribute);
        let _ = r.date(attribute);
        let _ = r.sprint_ids(attribute);
    }
    let _ = r.system_text("summary", "title");
    let _ = r.system_timestamp("updated", "source_updated");
    let _ = r.system_name("status", "status");
    let _ = r.labels();
    let _ = r.take_extra();
    // The changelog, when the answer carries one, as the initiatives stream reads it.
    if let Ok((history, _)) = crate::pull::history::embedded(issue) {
        let mut diagnostics = Vec::new();
        let _ = crate::pull::history::gate_entries(&map, &history);
        let _ = crate::pull::history::kpi_measurements(&map, "X-1", &history, &mut diagnostics);
    }
}

#[cfg(test)]
mod tests {
    /// Every input in the fuzz corpus and every past finding still decodes without a panic.
    #[test]
    fn the_corpus_and_past_findings_replay() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz");
        let mut n = 0;
        for dir in ["corpus/jira_page", "regressions/jira_page"] {
            let Ok(entries) = std::fs::read_dir(format!("{root}/{dir}")) else {
                continue;
            };
            for entry in entries.flatten() {
                super::page_decoding(&std::fs::read(entry.path()).unwrap());
                n += 1;
            }
        }
        assert!(n > 0, "the corpus is in fuzz/corpus/jira_page");
    }
}
