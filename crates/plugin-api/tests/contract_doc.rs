//! docs/plugin-contract.md lists every record of the contract with every field: a field added
//! to the WIT file and not to the page fails here.

#[test]
fn every_record_and_field_of_the_wit_is_documented() {
    let wit = include_str!("../wit/plugin.wit");
    let doc = include_str!("../../../docs/plugin-contract.md");
    let mut missing = Vec::new();
    let mut lines = wit.lines().map(str::trim);
    let mut records = 0;
    while let Some(line) = lines.next() {
        let Some(name) = line
            .strip_prefix("record ")
            .and_then(|r| r.strip_suffix(" {"))
        else {
            continue;
        };
        records += 1;
        let Some(at) = doc.find(&format!("### `{name}`")) else {
            missing.push(format!("record {name}"));
            continue;
        };
        let section = &doc[at..];
        let section = &section[..section[4..].find("\n### ").map_or(section.len(), |e| e + 4)];
        for field in lines.by_ref().take_while(|l| *l != "}") {
            if field.starts_with("///") || field.is_empty() {
                continue;
            }
            let field = field
                .split(':')
                .next()
                .unwrap_or("")
                .trim_start_matches('%');
            if !section.contains(&format!("| `{field}` |")) {
                missing.push(format!("{name}.{field}"));
            }
        }
    }
    assert!(records > 20, "the WIT file was read: {records} records");
    assert!(
        missing.is_empty(),
        "not in docs/plugin-contract.md: {missing:?}"
    );
}
