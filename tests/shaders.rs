//! Every WGSL kernel, in each accumulator variant the backend builds, parses and validates with
//! naga, the compiler wgpu uses, so a shader error fails `cargo test` even on a machine without
//! a GPU adapter.

use naga::valid::{Capabilities, ValidationFlags, Validator};
use segmenter::backend::gpu::{assign_source, tiled_source, Accumulator, Argmin};
use std::path::Path;

fn validate(name: &str, src: &str, caps: Capabilities) -> naga::Module {
    let module = naga::front::wgsl::parse_str(src)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(src)));
    Validator::new(ValidationFlags::all(), caps)
        .validate(&module)
        .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(src)));
    module
}

#[test]
fn every_shader_parses_and_validates() {
    let int64 = Capabilities::SHADER_INT64 | Capabilities::SHADER_INT64_ATOMIC_ALL_OPS;
    for (acc, caps) in [
        (Accumulator::Carry, Capabilities::default()),
        (Accumulator::Int64, int64),
    ] {
        let src = assign_source(acc);
        let module = validate(acc.name(), &src, caps);
        assert_eq!(module.entry_points.len(), 1, "{}: one kernel", acc.name());
        assert_eq!(module.entry_points[0].name, "assign_accumulate");
    }
    // The tiled kernel in every accumulator × argmin form; the workgroup argmin must not
    // need subgroups (adapters without them run it).
    for (acc, caps) in [
        (Accumulator::Carry, Capabilities::default()),
        (Accumulator::Int64, int64),
    ] {
        for (argmin, extra) in [
            (Argmin::Workgroup, Capabilities::default()),
            (Argmin::Subgroup, Capabilities::SUBGROUP),
        ] {
            let name = format!("tiled {} {}", acc.name(), argmin.name());
            let src = tiled_source(acc, argmin);
            let module = validate(&name, &src, caps | extra);
            assert_eq!(module.entry_points.len(), 1, "{name}: one kernel");
            assert_eq!(module.entry_points[0].name, "assign_tiled");
        }
    }
    let wg = tiled_source(Accumulator::Carry, Argmin::Workgroup);
    assert!(
        !wg.contains("subgroupShuffle"),
        "the workgroup argmin uses no subgroup op"
    );

    // The carry form must not need 64-bit integers: it is what adapters without them run.
    let carry = assign_source(Accumulator::Carry);
    assert!(
        !carry.contains("u64"),
        "the carry variant uses no 64-bit type"
    );

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("the shaders directory exists") {
        let path = entry.expect("a readable directory entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("wgsl") {
            continue;
        }
        let src = std::fs::read_to_string(&path).expect("a readable shader");
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
        seen.push(path.file_name().map(|n| n.to_string_lossy().into_owned()));
    }
    seen.sort();
    let want = [
        "kmeans_acc_carry.wgsl",
        "kmeans_acc_int64.wgsl",
        "kmeans_argmin_subgroup.wgsl",
        "kmeans_argmin_workgroup.wgsl",
        "kmeans_assign.wgsl",
        "kmeans_assign_tiled.wgsl",
    ];
    assert_eq!(
        seen,
        want.iter().map(|s| Some(s.to_string())).collect::<Vec<_>>(),
        "every shader file is one the backend builds"
    );
}
