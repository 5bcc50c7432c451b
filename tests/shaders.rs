//! Every WGSL shader parses and validates with naga, the compiler wgpu uses, so a shader error
//! fails `cargo test` even on a machine without a GPU adapter.

use std::path::Path;

#[test]
fn every_shader_parses_and_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("the shaders directory exists") {
        let path = entry.expect("a readable directory entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("wgsl") {
            continue;
        }
        let src = std::fs::read_to_string(&path).expect("a readable shader");
        let module = naga::front::wgsl::parse_str(&src)
            .unwrap_or_else(|e| panic!("{}: {}", path.display(), e.emit_to_string(&src)));
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::default(),
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{}: {}", path.display(), e.emit_to_string(&src)));
        assert!(
            src.lines().take(3).any(|l| l.starts_with("//")),
            "{}: a shader starts with a header comment",
            path.display()
        );
        assert!(
            src.contains("Bindings"),
            "{}: the header lists the bindings",
            path.display()
        );
        assert_eq!(
            module.entry_points.len(),
            1,
            "{}: one kernel per file",
            path.display()
        );
        seen.push(path.file_name().map(|n| n.to_string_lossy().into_owned()));
    }
    seen.sort();
    assert_eq!(
        seen,
        vec![
            Some("kmeans_assign.wgsl".to_string()),
            Some("kmeans_reduce.wgsl".to_string())
        ]
    );
}
